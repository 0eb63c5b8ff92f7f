import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser as Session, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import { removeNamespace, requireDocker, startDockerMarina, TEST_IMAGES, testNamespace } from '../helpers/docker.js';
import { followJob } from '../helpers/jobs.js';

/**
 * Dialogs that say what will happen (issue #17): "Restart all" lists the instances it restarts, the
 * delete dialog says where the safety backup goes and for how long, the list then offers to bring
 * the deleted instance back, and the audit page filters by the one vocabulary of actions.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const screenshots = join(root, 'test-results', 'screenshots');
const STEP_TIMEOUT = 120_000;

const namespace = testNamespace();
let t: TestApp;
let admin: Session;
let browser: Browser;
let page: Page;
let baseUrl: string;
let headers: Record<string, string>;
let instanceId: string;

const snap = (name: string) => page.screenshot({ path: join(screenshots, `${name}.png`) });
const dialog = () => page.getByRole('dialog');

beforeAll(async () => {
  await requireDocker();
  ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin }));
  const project = (
    await as(t, admin)('POST', '/api/v1/projects', { organization: 'acme', name: 'erp', odooVersion: '17.0' })
  ).json().project;
  const created = await as(t, admin)('POST', '/api/v1/instances', {
    project: project.id,
    name: 'shop',
    stage: 'production',
    memoryMb: 768,
    adminLogin: 'o@acme.test',
  });
  expect(created.statusCode).toBe(202);
  expect((await followJob(baseUrl, headers, created.json().job.id)).job.status).toBe('succeeded');
  instanceId = created.json().instance.id;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await removeNamespace(namespace);
}, 120_000);

describe('dialogs that say what will happen', () => {
  it(
    '"Restart all" lists the instances it will restart, and which are production',
    async () => {
      await page.goto(`${baseUrl}/instances`);
      await page.getByRole('button', { name: 'Restart all' }).click();
      await dialog().waitFor();
      try {
        const list = dialog().getByRole('list', { name: 'Instances to restart' });
        await list.getByText('erp/shop').waitFor({ timeout: 5000 });
        expect(await list.getByRole('listitem').count()).toBe(1);
        await dialog().getByText('1 of them is production.').waitFor();
        await dialog().getByRole('heading', { name: 'Restart 1 running instance?' }).waitFor();
      } finally {
        await snap('restart-all-dialog');
      }
      await dialog().getByRole('button', { name: 'Cancel' }).click();
    },
    STEP_TIMEOUT,
  );

  it(
    'the delete dialog says where the safety backup goes and for how long; the list then offers it back',
    async () => {
      await page.goto(`${baseUrl}/instances/${instanceId}`);
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      await dialog().waitFor();
      try {
        const note = dialog().getByTestId('safety-backup-note');
        await note.waitFor({ timeout: 5000 });
        expect(await note.textContent()).toContain('until someone deletes it');
        expect(await dialog().textContent()).not.toContain('cannot be undone');
      } finally {
        await snap('delete-dialog');
      }
      await dialog().getByRole('textbox').fill('shop');
      await dialog().getByRole('button', { name: 'Delete instance' }).click();
      await expect
        .poll(async () => (await as(t, admin)('GET', '/api/v1/instances')).json().instances.length, { timeout: 90_000 })
        .toBe(0);
      await page.goto(`${baseUrl}/instances`);
      const offer = page.getByTestId('deleted-instances');
      await offer.getByText('erp/shop').waitFor();
      await snap('delete-restore-offer');
      await offer.getByRole('button', { name: 'Restore deleted instance' }).click();
      await dialog().getByRole('heading', { name: 'Restore erp/shop?' }).waitFor();
      expect(await dialog().getByLabel('Name of the new instance').inputValue()).toBe('shop');
      await snap('delete-restore-dialog');
      await dialog().getByRole('button', { name: 'Cancel' }).click();
    },
    STEP_TIMEOUT,
  );

  it(
    'the audit page filters by the vocabulary of actions',
    async () => {
      await page.goto(`${baseUrl}/audit`);
      await page.getByLabel('Category').selectOption('instance');
      const actions = await page.getByLabel('Action').locator('option').allTextContents();
      expect(actions).toContain('instance.clone');
      expect(actions).not.toContain('session.login');
      await page.getByLabel('Action').selectOption('instance.delete');
      await page.getByRole('button', { name: 'Apply' }).click();
      const rows = page.getByTestId('audit-row');
      await expect.poll(async () => rows.count()).toBe(1);
      expect(await rows.first().textContent()).toContain('erp/shop');
      await snap('audit-filter');
    },
    STEP_TIMEOUT,
  );
});
