import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MarinaClient } from '../../src/cli/api/client.js';
import { registerInstanceCommands } from '../../src/cli/instances.js';
import { as, memberBrowser, type Browser as Session, STRONG_PASSWORD, signIn, type TestApp } from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../helpers/docker.js';
import { followJob } from '../helpers/jobs.js';

/**
 * The undo of a restore in a real Chromium, against real PostgreSQL and Docker with Marina's Odoo
 * stand-in: a production instance restored over shows who restored it, when, with a link to the
 * job and until when the replaced data is kept; a developer sees that without the button; an admin
 * confirms with the instance's name and the page follows the undo job; the CLI shows the undo line
 * and swaps back again. Screenshots go to MARINA_SHOTS (default /work/screens) as undo-*.png.
 */
const shots = process.env.MARINA_SHOTS ?? '/work/screens';
const STEP_TIMEOUT = 60_000;
const JOB_TIMEOUT = 180_000;
const HOUR_MS = 3600_000;
const DEVELOPER = 'dev@acme.test';

const namespace = testNamespace();
let t: TestApp;
let admin: Session;
let baseUrl: string;
let headers: Record<string, string>;
let instance: { id: string; name: string };
let restoreJobId: string;
let undoJobId: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

const notice = (on: Page = page) => on.getByTestId('undo-notice');
const dialog = () => page.getByRole('dialog');

async function snap(name: string, on: Page = page): Promise<void> {
  for (const dismiss of await on.locator('.toasts').getByRole('button', { name: 'Dismiss' }).all())
    await dismiss.click().catch(() => undefined);
  await on.screenshot({ path: join(shots, `undo-${name}.png`) });
}

beforeAll(async () => {
  await requireDocker();
  await mkdir(shots, { recursive: true });
  const marina = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin });
  ({ t, admin, baseUrl, headers } = marina);
  ({ instance } = await provisionInstance(marina, { project: 'erp', name: 'shop', stage: 'production' }));
  const call = as(t, admin);
  const made = await call('POST', `/api/v1/instances/${instance.id}/backups`, { kind: 'full', format: 'native' });
  expect(made.statusCode).toBe(202);
  expect((await followJob(baseUrl, headers, made.json().job.id, JOB_TIMEOUT)).job.status).toBe('succeeded');
  const restored = await call('POST', `/api/v1/backups/${made.json().backup.id}/restore`, {
    instanceId: instance.id,
    confirm: 'shop',
  });
  expect(restored.statusCode).toBe(202);
  restoreJobId = restored.json().job.id;
  expect((await followJob(baseUrl, headers, restoreJobId, JOB_TIMEOUT)).job.status).toBe('succeeded');
  // The restore keeps what it replaced; the undo's time is stamped from the test's clock, as Marina does.
  await t.db
    .updateTable('instances')
    .set({ undo_until: new Date(t.clock.now().getTime() + 24 * HOUR_MS), undo_operation_id: restoreJobId })
    .where('id', '=', instance.id)
    .execute();
  await memberBrowser(t, admin, 'acme', DEVELOPER, 'developer');
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await removeNamespace(namespace);
}, 120_000);

describe('undoing a restore', () => {
  it(
    'a developer sees what was restored and until when, without the button; the API refuses them',
    async () => {
      const own = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
      try {
        const developerPage = await own.newPage();
        developerPage.setDefaultTimeout(15_000);
        await signInPage(developerPage, baseUrl, DEVELOPER, STRONG_PASSWORD);
        await developerPage.goto(`${baseUrl}/instances/${instance.id}`);
        await notice(developerPage)
          .filter({ hasText: /Restored .* by admin@example\.com · Restore backup job / })
          .waitFor();
        expect(await notice(developerPage).textContent()).toContain('An organization admin can swap it back in.');
        expect(await notice(developerPage).getByRole('button').count()).toBe(0);
        await snap('notice-developer', developerPage);
      } finally {
        await own.close();
      }
      const developer = await signIn(t.app, DEVELOPER);
      const refused = await as(t, developer)('POST', `/api/v1/instances/${instance.id}/undo-restore`, {
        confirm: 'shop',
      });
      expect(refused.statusCode).toBe(403);
    },
    STEP_TIMEOUT,
  );

  it(
    'an admin sees who restored it, when, the job, and until when the replaced data is kept',
    async () => {
      await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
      await page.goto(`${baseUrl}/instances/${instance.id}`);
      const shown = notice();
      await shown.getByRole('link', { name: /^Restore backup job / }).waitFor();
      const text = (await shown.textContent()) ?? '';
      expect(text).toMatch(/Restored (now|\d+ (seconds?|minutes?) ago) by admin@example\.com/);
      expect(text).toContain('The data it replaced is kept until');
      const link = shown.getByTestId('undo-job-link');
      expect(await link.getAttribute('href')).toBe(`/jobs/${restoreJobId}`);
      expect(await link.textContent()).toBe(`Restore backup job ${restoreJobId.slice(0, 8)}`);
      const until = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}`)).json().instance.undo.until;
      expect(await shown.getByTestId('undo-until').getAttribute('datetime')).toBe(until);
      expect(await shown.getByRole('button', { name: 'Undo restore' }).isEnabled()).toBe(true);
      await snap('notice');
    },
    STEP_TIMEOUT,
  );

  it(
    'the dialog wants the production name and says the current data is kept as the undo; the page follows the job',
    async () => {
      await notice().getByRole('button', { name: 'Undo restore' }).click();
      await dialog().getByRole('heading', { name: 'Undo the restore of shop?' }).waitFor();
      expect(await dialog().getByTestId('undo-dialog-note').textContent()).toContain('kept as the undo');
      const confirm = dialog().getByRole('button', { name: 'Undo restore' });
      expect(await confirm.isDisabled()).toBe(true);
      await dialog()
        .getByLabel(/Type its name to undo the restore/)
        .fill('shop');
      expect(await confirm.isEnabled()).toBe(true);
      await snap('dialog');

      const isUndo = (url: string, method: string) =>
        method === 'POST' && new URL(url).pathname === `/api/v1/instances/${instance.id}/undo-restore`;
      // A minute after the restore (Marina's clock is the test's): the undo's own times differ from the restore's.
      const before = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}`)).json().instance.undo;
      t.clock.advanceMinutes(1);
      const posted = page.waitForRequest((r) => isUndo(r.url(), r.method()));
      const answered = page.waitForResponse((r) => isUndo(r.url(), r.request().method()));
      await confirm.click();
      expect((await posted).postDataJSON()).toEqual({ confirm: 'shop' });
      const answer = await answered;
      expect(answer.status()).toBe(202);
      undoJobId = (await answer.json()).job.id;
      expect((await answer.json()).job.kind).toBe('instance.undo_restore');
      await dialog().waitFor({ state: 'detached' });

      // The job's card follows it (gone once it succeeded, as for the other actions), then the toast.
      const card = page.locator(`[data-testid="inline-job"][data-job-id="${undoJobId}"]`);
      const toast = page.getByText('The restore of shop was undone.');
      await card.or(toast).first().waitFor();
      if (await card.isVisible()) {
        expect(await card.textContent()).toContain('Undo restore');
        await snap('progress');
      }
      await toast.waitFor({ timeout: JOB_TIMEOUT });
      const job = (await as(t, admin)('GET', `/api/v1/jobs/${undoJobId}`)).json().job;
      expect(job.status).toBe('succeeded');
      expect(job.steps.map((s: { name: string }) => s.name)).toEqual([
        'stage',
        'stop',
        'swap',
        'start',
        'health',
        'keep',
      ]);

      // What the undo swapped out is the undo now, kept for the same hours from the undo, and says so.
      const after = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}`)).json().instance.undo;
      expect(after).toEqual({
        until: new Date(t.clock.now().getTime() + 24 * HOUR_MS).toISOString(),
        operationId: undoJobId,
      });
      expect(after.until).not.toBe(before.until);
      await notice().getByText('Restore undone').waitFor({ timeout: STEP_TIMEOUT });
      expect(await notice().getByTestId('undo-job-link').getAttribute('href')).toBe(`/jobs/${undoJobId}`);
      expect(await notice().textContent()).toContain('The data it swapped out is kept until');
      await snap('after');
      expect(pageErrors).toEqual([]);
    },
    JOB_TIMEOUT,
  );

  it(
    'marina instances show prints the undo, and undo-restore swaps back again with its progress',
    async () => {
      // As `marina login` leaves it: an API token (job streams are followed with it).
      const { secret } = (await as(t, admin)('POST', '/api/v1/tokens', { name: 'cli' })).json();
      const client = new MarinaClient({ url: baseUrl, token: secret });
      const program = new Command('marina').exitOverride();
      registerInstanceCommands(program, async () => client);
      const printed: string[] = [];
      const log = vi
        .spyOn(console, 'log')
        .mockImplementation((...args: unknown[]) => void printed.push(args.join(' ')));
      const run = async (...args: string[]) => {
        printed.length = 0;
        await program.parseAsync(['node', 'marina', 'instances', ...args]);
        return printed.join('\n');
      };
      try {
        const shown = await run('show', instance.id);
        expect(shown).toContain(`the data the last undo swapped out`);
        expect(shown).toContain(`— job ${undoJobId}`);
        expect(shown).toContain(`swap it back: marina instances undo-restore ${instance.id}`);
        await expect(run('undo-restore', instance.id)).rejects.toThrow(/production instance/);
        const undone = await run('undo-restore', instance.id, '--confirm', 'shop');
        expect(undone).toMatch(/^Undoing the restore of shop — job [0-9a-f-]{36}\nDone\.$/);
        const again = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}`)).json().instance;
        expect(again.undo.operationId).not.toBe(undoJobId);
        expect(again.status).toBe('running');
      } finally {
        log.mockRestore();
      }
    },
    JOB_TIMEOUT,
  );
});
