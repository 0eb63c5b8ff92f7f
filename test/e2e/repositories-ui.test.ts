import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser as Session, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../helpers/docker.js';
import {
  createTestRepository,
  demoAddon,
  TEST_REPOS_ROOT,
  type TestRepository,
  writeAddon,
} from '../helpers/git-repo.js';

/**
 * Repositories and modules in a real Chromium, against a real Marina (Docker, PostgreSQL, the Odoo
 * stand-in) and a real bare git repository on file://: the Git setting, the "Add repository" form
 * with its field errors, the deploy key and webhook with their copy buttons, the status badges,
 * "Check for updates", Update with its progress bar and result (and a failure rolled back), and
 * the modules table with a batch install confirmed from its dry-run plan.
 */
const shots = process.env.MARINA_SHOTS ?? '/tmp/marina-shots';
const STEP_TIMEOUT = 60_000;
const JOB_TIMEOUT = 180_000;
const REPO = 'acme-addons';

const namespace = testNamespace();
let t: TestApp;
let admin: Session;
let baseUrl: string;
let instance: { id: string; name: string };
let repo: TestRepository;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

async function snap(name: string, { fullPage = true, scrollTo }: { fullPage?: boolean; scrollTo?: Locator } = {}) {
  // Progress bars glide to their value (0.4 s): let them arrive.
  await page.waitForTimeout(500);
  for (const dismiss of await page.locator('.toasts').getByRole('button', { name: 'Dismiss' }).all()) {
    await dismiss.click().catch(() => undefined);
  }
  if (scrollTo) await scrollTo.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  else await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
}

const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) => as(t, admin)(method, url, body);
const card = () => page.locator(`[data-testid="repository-card"][data-repository="${REPO}"]`);
const badges = () => card().getByTestId('repo-status');
const updateJob = () => card().locator('[data-testid="inline-job"][data-job-kind="repository.update"]');
/** Clicks Update and waits for the card to follow the job it started (not the one it showed before). */
async function startUpdate(): Promise<Locator> {
  const before = await updateJob()
    .getAttribute('data-job-id', { timeout: 1000 })
    .catch(() => null);
  await card().getByRole('button', { name: 'Update', exact: true }).click();
  await expect.poll(async () => updateJob().getAttribute('data-job-id')).not.toBe(before);
  return updateJob();
}

const moduleRow = (name: string) => page.getByRole('table', { name: 'Modules' }).locator(`tr[data-module="${name}"]`);

async function openTab(name: 'Repositories' | 'Modules') {
  await page.getByRole('tab', { name }).click();
  await page.getByRole('tabpanel', { name }).waitFor();
}

async function repository() {
  const listed = (await api('GET', `/api/v1/projects/${await projectId()}/repositories`)).json().repositories;
  return listed.find((r: { name: string }) => r.name === REPO);
}

async function projectId(): Promise<string> {
  return (await api('GET', `/api/v1/instances/${instance.id}`)).json().instance.projectId;
}

beforeAll(async () => {
  await requireDocker();
  await mkdir(shots, { recursive: true });
  const marina = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin });
  // Marina runs on the test's clock, which starts now: "5 seconds ago" reads as it would.
  ({ t, baseUrl, admin } = marina);
  const headers = { cookie: admin.cookie, 'x-marina-csrf': admin.csrf };
  ({ instance } = await provisionInstance({ ...marina, admin, headers }, { project: 'erp', name: 'main' }));
  repo = await createTestRepository('17.0');
  await writeAddon(repo, 'marina_demo', demoAddon({ version: '1.0' }));
  await repo.write('README.md', 'Addons of ACME\n');
  await repo.commit('First version of marina_demo');
  await repo.push();
  browser = await launchChromium();
  context = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await removeNamespace(namespace);
  await repo?.cleanup();
}, 120_000);

describe('repositories and modules in the web UI', () => {
  it(
    'refuses a file:// URL next to its field until a platform admin allows local repositories',
    async () => {
      await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
      await page.goto(`${baseUrl}/instances/${instance.id}?tab=repositories`);
      await page.getByRole('heading', { name: 'No repositories yet' }).waitFor();
      await snap('r-01-repositories-empty');
      await page.getByRole('button', { name: 'Add repository' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add repository' });
      await dialog.getByLabel('Repository URL').fill(repo.url);
      expect(await dialog.getByLabel('Branch').inputValue()).toBe('17.0');
      await dialog.getByRole('button', { name: 'Add repository' }).click();
      const error = dialog.locator('.field-invalid .field-error');
      await error.waitFor();
      expect(await error.textContent()).toMatch(/a platform admin allows them per organization/);
      expect(await dialog.getByLabel('Repository URL').getAttribute('aria-invalid')).toBe('true');
      await snap('r-02-add-refused', { fullPage: false });
      await dialog.getByRole('button', { name: 'Cancel' }).click();

      await page.goto(`${baseUrl}/settings?tab=git`);
      const section = page.getByRole('region', { name: 'Git' });
      // A root folder first, then the organization: local repositories need both.
      await section.getByLabel('Root folder of local repositories').fill(TEST_REPOS_ROOT);
      await section.getByRole('button', { name: 'Save root folder' }).click();
      const toggle = section.getByRole('switch', { name: /^Local repositories for / }).first();
      await toggle.waitFor();
      expect(await toggle.getAttribute('aria-checked')).toBe('false');
      await toggle.click();
      await expect.poll(async () => toggle.getAttribute('aria-checked')).toBe('true');
      const git = (await api('GET', '/api/v1/settings/git')).json().git;
      expect(git.fileRoot).toBe(await realpath(TEST_REPOS_ROOT));
      expect(git.fileRepositoryOrganizations).toHaveLength(1);
      await snap('r-03-settings-git');
    },
    STEP_TIMEOUT,
  );

  it(
    'adds the repository through the form: deploy key and webhook with copy buttons, then up to date',
    async () => {
      await page.goto(`${baseUrl}/instances/${instance.id}?tab=repositories`);
      await page.getByRole('button', { name: 'Add repository' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add repository' });
      await dialog.getByLabel('Repository URL').fill(repo.url);
      await dialog.getByLabel('Folder name').fill(REPO);
      await snap('r-04-add-form', { fullPage: false });
      await dialog.getByRole('button', { name: 'Add repository' }).click();

      const added = page.getByRole('dialog', { name: 'Repository added' });
      await added.waitFor();
      const saved = await repository();
      expect(saved.deployKey).toMatch(/^ssh-ed25519 /);
      const copyOf = (label: string) =>
        added.locator('.copy-field').filter({ has: page.getByRole('textbox', { name: label, exact: true }) });
      expect(await copyOf('Deploy key').getByRole('textbox').inputValue()).toBe(saved.deployKey);
      expect(await copyOf('Webhook URL').getByRole('textbox').inputValue()).toBe(saved.hook.url);
      expect(await copyOf('Webhook secret').getByRole('textbox').inputValue()).toBe(saved.hook.secret);
      expect(saved.hook.url).toContain('/api/v1/hooks/git/');
      await added.getByText('GitLab: put it in').waitFor();
      for (const [label, value] of [
        ['Deploy key', saved.deployKey],
        ['Webhook URL', saved.hook.url],
        ['Webhook secret', saved.hook.secret],
      ] as const) {
        await copyOf(label).getByRole('button', { name: 'Copy' }).click();
        await copyOf(label).getByRole('button', { name: 'Copied' }).waitFor();
        expect(await page.evaluate('navigator.clipboard.readText()')).toBe(value);
      }
      await snap('r-05-added-keys', { fullPage: false });
      await added.getByRole('button', { name: 'Done' }).click();
      await added.waitFor({ state: 'detached' });

      // The clone job shows in the card, live (or, when it was quicker than the page, as the last
      // update), then the badges say "up to date".
      await card().getByTestId('update-result').waitFor({ timeout: JOB_TIMEOUT });
      if ((await updateJob().count()) > 0) expect(await updateJob().getAttribute('data-job-status')).toBe('succeeded');
      await expect.poll(async () => badges().getAttribute('data-status')).toBe('up-to-date');
      const head = await repo.git('rev-parse', 'HEAD');
      const headLine = card().getByTestId('head-commit');
      expect(await headLine.textContent()).toContain(head.slice(0, 7));
      expect(await headLine.textContent()).toContain('First version of marina_demo');
      expect(await headLine.textContent()).toContain('Ada Developer');
      expect(await card().getByTestId('update-result').textContent()).toContain(`Cloned at ${head.slice(0, 7)}`);
      expect(await card().locator('.repo-addons').textContent()).toBe('marina_demo');
      await snap('r-06-repository-up-to-date');
    },
    JOB_TIMEOUT,
  );

  it(
    'lists marina_demo as available and installs it with a batch action confirmed from its plan',
    async () => {
      await openTab('Modules');
      const row = moduleRow('marina_demo');
      await row.waitFor();
      // In the checkout, not installed: "available" until Odoo's apps list has it, then "uninstalled".
      expect(['available', 'uninstalled']).toContain(await row.getAttribute('data-state'));
      expect(await row.textContent()).toContain(REPO);
      await page.getByRole('searchbox', { name: 'Search' }).fill('marina');
      await expect.poll(async () => page.getByRole('table', { name: 'Modules' }).locator('tbody tr').count()).toBe(1);
      await row.getByRole('checkbox', { name: 'Select marina_demo' }).check();
      expect(await page.getByTestId('batch-count').textContent()).toBe('1 selected');
      expect(await page.getByRole('button', { name: 'Uninstall' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Install (1)' }).click();

      const dialog = page.getByRole('dialog', { name: `Change modules of ${instance.name}?` });
      const plan = dialog.getByTestId('module-plan');
      await plan.waitFor();
      expect(await plan.textContent()).toBe('Installmarina_demo');
      await snap('r-07-install-plan', { fullPage: false });
      await dialog.getByRole('button', { name: 'Apply' }).click();
      await dialog.waitFor({ state: 'detached' });

      const job = page.locator('[data-testid="inline-job"][data-job-kind="modules.apply"]');
      await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      expect(await job.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
      await expect.poll(async () => row.getAttribute('data-state')).toBe('installed');
      expect(await row.locator('.module-version').first().textContent()).toBe('17.0.1.0');
      expect(await page.getByTestId('batch-count').textContent()).toMatch(/^Select modules/);
      await snap('r-08-modules-installed');

      await page.getByRole('searchbox', { name: 'Search' }).fill('');
      await page.getByRole('combobox', { name: 'State' }).selectOption('installed');
      await expect.poll(async () => moduleRow('base').count()).toBe(1);
      expect(await moduleRow('marina_demo').count()).toBe(1);
      await snap('r-09-modules-installed-filter');
    },
    JOB_TIMEOUT,
  );

  it(
    'sees a new commit with "Check for updates" and brings it in with Update: progress to 100 % and its result',
    async () => {
      const before = await repo.git('rev-parse', 'HEAD');
      await writeAddon(repo, 'marina_demo', demoAddon({ version: '1.1', extraField: true }));
      const after = await repo.commit('Add a priority field');
      await repo.push();

      await openTab('Repositories');
      expect(await badges().getAttribute('data-status')).toBe('up-to-date');
      await card().getByRole('button', { name: 'Check for updates' }).click();
      await expect.poll(async () => badges().getAttribute('data-status')).toBe('behind');
      expect(await badges().textContent()).toBe('behind 1');
      await snap('r-10-behind-1');

      const job = await startUpdate();
      await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      expect(await job.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
      const result = await card().getByTestId('update-result').textContent();
      expect(result).toContain(`Updated ${before.slice(0, 7)} → ${after.slice(0, 7)}`);
      expect(result).toContain('upgraded marina_demo');
      await expect.poll(async () => badges().getAttribute('data-status')).toBe('up-to-date');
      expect(await card().getByTestId('head-commit').textContent()).toContain('Add a priority field');

      await card().getByText('Commit details and recent commits').click();
      const recent = card().getByRole('table', { name: 'Recent commits' });
      expect(await recent.locator('tbody tr').count()).toBe(2);
      expect(await recent.textContent()).toContain('First version of marina_demo');
      expect(await card().locator('.commit-facts').textContent()).toContain(after);
      await snap('r-11-updated');

      await openTab('Modules');
      await expect
        .poll(async () => moduleRow('marina_demo').locator('.module-version').first().textContent())
        .toBe('17.0.1.1');
      expect(await moduleRow('marina_demo').getByTestId('update-available').count()).toBe(0);
    },
    JOB_TIMEOUT,
  );

  it(
    'with auto-upgrade off, an update leaves the module to upgrade by hand: "update available", Upgrade',
    async () => {
      await openTab('Repositories');
      const autoUpgrade = card().getByRole('switch', { name: 'Auto-upgrade' });
      await autoUpgrade.click();
      await expect.poll(async () => autoUpgrade.getAttribute('aria-checked')).toBe('false');
      expect((await repository()).autoUpgrade).toBe(false);

      await writeAddon(repo, 'marina_demo', demoAddon({ version: '1.2', extraField: true }));
      await repo.write('marina_demo/README.md', 'Version 1.2\n');
      await repo.commit('Version 1.2');
      await repo.push();
      const job = await startUpdate();
      await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      expect(await card().getByTestId('update-result').textContent()).toContain('no module upgraded');

      await openTab('Modules');
      const row = moduleRow('marina_demo');
      await row.getByTestId('update-available').waitFor();
      expect(await row.textContent()).toContain('17.0.1.1');
      expect(await row.textContent()).toContain('17.0.1.2');
      await page.getByRole('combobox', { name: 'State' }).selectOption('updates');
      await expect.poll(async () => page.getByRole('table', { name: 'Modules' }).locator('tbody tr').count()).toBe(1);
      await snap('r-12a-update-available');

      // Uninstall asks with the plan in red; cancelled here.
      await row.getByRole('checkbox', { name: 'Select marina_demo' }).check();
      await page.getByRole('button', { name: 'Uninstall (1)' }).click();
      const uninstall = page.getByRole('dialog', { name: `Change modules of ${instance.name}?` });
      await uninstall.locator('.plan-danger').waitFor();
      expect(await uninstall.getByTestId('module-plan').textContent()).toBe('Uninstallmarina_demo');
      await snap('r-12b-uninstall-plan', { fullPage: false });
      await uninstall.getByRole('button', { name: 'Cancel' }).click();

      await page.getByRole('button', { name: 'Upgrade (1)' }).click();
      const dialog = page.getByRole('dialog', { name: `Change modules of ${instance.name}?` });
      expect(await dialog.getByTestId('module-plan').textContent()).toBe('Upgrademarina_demo');
      await dialog.getByRole('button', { name: 'Apply' }).click();
      await dialog.waitFor({ state: 'detached' });
      const upgrade = page.locator('[data-testid="inline-job"][data-job-kind="modules.apply"]');
      await expect
        .poll(async () => upgrade.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT })
        .toBe('succeeded');
      await expect.poll(async () => row.count()).toBe(0);
      await page.getByRole('combobox', { name: 'State' }).selectOption('installed');
      await expect.poll(async () => row.locator('.module-version').first().textContent()).toBe('17.0.1.2');
      expect(await row.getByTestId('update-available').count()).toBe(0);
    },
    JOB_TIMEOUT,
  );

  it(
    'shows a failed update with its error and "rolled back", and the checkout stays at the good commit',
    async () => {
      const good = await repo.git('rev-parse', 'HEAD');
      await repo.write('marina_demo/__manifest__.py', "{'name': 'Marina Demo', 'version': '1.2',\n");
      await repo.commit('Broken manifest');
      await repo.push();

      await openTab('Repositories');
      const job = await startUpdate();
      await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('failed');
      const error = await job.locator('.job-error-message').textContent();
      expect(error).toContain('marina_demo');
      expect(error).toMatch(/Rolled back/);
      expect(await job.getByRole('progressbar').getAttribute('class')).toContain('progress-red');
      const listed = await repository();
      const checkout = listed.checkouts.find((c: { instanceId: string }) => c.instanceId === instance.id);
      expect(checkout.commit).toBe(good);
      expect(await card().getByTestId('head-commit').textContent()).toContain(good.slice(0, 7));
      await snap('r-12-update-failed');

      // Reloaded, the page tells the same story from the checkout and its last job.
      await page.reload();
      await card().getByTestId('last-update').waitFor();
      expect(await card().getByTestId('last-update').getAttribute('data-status')).toBe('failed');
      expect(await card().getByTestId('last-update').textContent()).toContain('rolled back');
      await snap('r-13-after-reload');
    },
    JOB_TIMEOUT,
  );
  it(
    'refuses a bad branch next to its field, and removes the repository after a confirmation',
    async () => {
      const branch = card().getByRole('textbox', { name: 'Branch of this instance' });
      await branch.fill('a b');
      await card().getByRole('button', { name: 'Switch' }).click();
      const error = card().locator('.branch-editor .field-error');
      await error.waitFor();
      expect(await error.textContent()).toMatch(/branch/i);
      expect((await repository()).checkouts[0].branch).toBe('17.0');
      await branch.fill('17.0');

      await card().getByRole('button', { name: 'Remove' }).click();
      const dialog = page.getByRole('dialog', { name: `Remove ${REPO}?` });
      await dialog.getByText('Modules installed from it stop working').waitFor();
      await dialog.getByRole('button', { name: 'Remove repository' }).click();
      await dialog.waitFor({ state: 'detached' });
      await card().waitFor({ state: 'detached' });
      await page.getByRole('heading', { name: 'No repositories yet' }).waitFor();
      const job = page.locator('[data-testid="inline-job"][data-job-kind="addons.reconfigure"]');
      await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      expect(await repository()).toBeUndefined();
      await snap('r-14-removed');
      expect(pageErrors).toEqual([]);
    },
    JOB_TIMEOUT,
  );
});
