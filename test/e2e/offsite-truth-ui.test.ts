import { describe, expect, it } from 'vitest';
import { STRONG_PASSWORD } from '../helpers/app.js';
import { signInPage } from '../helpers/browser.js';
import {
  api,
  backupsTable,
  baseUrl,
  closedPort,
  history,
  instance,
  JOB_TIMEOUT,
  page,
  STEP_TIMEOUT,
  s3,
  scheduleCard,
  snap,
  startMarinaAndChromium,
} from './offsite-ui-support.js';

startMarinaAndChromium();

/**
 * Issue #17 "tell the truth", offsite part, in a real Chromium against a real Marina: saving a
 * destination tests it first (steps shown, "Save anyway" keeps it marked unhealthy); schedules warn
 * about a destination whose test failed; a run whose copy failed is "partial" on the schedule card,
 * in the history, in the Backups page's count, with its job failed at the upload step, and "Retry
 * copy" makes it whole; destinations can be edited, tested again on save.
 * Each test takes its screenshot before it asserts, so that the same test shows the old code too.
 */
describe('offsite runs and destinations tell the truth', () => {
  let closedEndpoint = '';

  it(
    'refuses to save a destination whose connection test fails, showing the steps; "Save anyway" marks it unhealthy',
    async () => {
      closedEndpoint = `http://127.0.0.1:${await closedPort()}`;
      await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
      await page.goto(`${baseUrl}/organizations/acme/destinations`);
      await page.getByRole('button', { name: 'Add destination' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add destination' });
      await dialog.getByLabel('Name').fill('closed');
      await dialog.getByLabel('Endpoint').fill(closedEndpoint);
      await dialog.getByLabel('Bucket').fill('nowhere');
      await dialog.getByRole('checkbox', { name: 'Path-style addressing' }).check();
      await dialog.getByLabel('Access key ID').fill(s3.accessKeyId);
      await dialog.getByLabel('Secret access key').fill(s3.secretAccessKey);
      await dialog.getByRole('button', { name: 'Add destination' }).click();
      const failed = dialog.getByTestId('save-test-failed');
      await Promise.race([failed.waitFor({ timeout: 30_000 }), dialog.waitFor({ state: 'detached', timeout: 30_000 })]);
      await snap('offsite-add-failed-test', {
        fullPage: false,
        scrollTo: (await failed.isVisible()) ? failed : undefined,
      });

      expect(await failed.isVisible()).toBe(true);
      const probe = failed.getByTestId('probe-result');
      expect(await probe.getAttribute('data-ok')).toBe('false');
      expect(await probe.locator('.probe-step[data-step="connect"]').getAttribute('data-ok')).toBe('false');
      expect(await failed.textContent()).toContain('Not saved: the connection test failed');
      // Nothing was saved yet.
      expect((await api('GET', '/api/v1/destinations')).json().destinations).toEqual([]);

      await failed.getByRole('button', { name: 'Save anyway' }).click();
      await dialog.waitFor({ state: 'detached' });
      const row = page.locator('tr[data-name="closed"]');
      await expect.poll(async () => row.getByTestId('destination-health').getAttribute('data-health')).toBe('failed');
      expect(await row.getByTestId('destination-health').textContent()).toBe('test failed');
      // The test its save ran is shown under its row, step by step.
      const id = await row.getAttribute('data-destination-id');
      expect(await page.locator(`tr[data-probe-for="${id}"]`).getByTestId('probe-result').getAttribute('data-ok')).toBe(
        'false',
      );
    },
    STEP_TIMEOUT,
  );

  it(
    'warns in the schedule that copies to a destination whose last test failed',
    async () => {
      const acme = (await api('GET', '/api/v1/organizations/acme')).json().organization;
      const good = await api('POST', '/api/v1/destinations', {
        organizationId: acme.id,
        name: 'good',
        kind: 's3',
        s3: {
          endpoint: s3.endpoint,
          region: 'us-east-1',
          bucket: s3.bucket,
          prefix: 'marina/truth',
          forcePathStyle: true,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
        },
      });
      expect(good.statusCode, good.body).toBe(201);
      const all = (await api('GET', '/api/v1/destinations')).json().destinations as { id: string; name: string }[];
      const set = await api('PUT', `/api/v1/instances/${instance.id}/schedule`, {
        spec: { kind: 'daily', time: '03:00', timeZone: 'Europe/Brussels' },
        kind: 'database',
        format: 'native',
        destinationIds: all.map((d) => d.id),
      });
      expect(set.statusCode, set.body).toBe(200);
      await page.goto(`${baseUrl}/instances/${instance.id}?tab=backups`);
      await scheduleCard().getByTestId('schedule-description').waitFor();
      await snap('offsite-schedule-warning', { fullPage: false, scrollTo: scheduleCard() });

      const warning = scheduleCard().getByTestId('schedule-destination-warning');
      await warning.waitFor();
      expect(await warning.textContent()).toContain('closed');
      expect(await warning.textContent()).toContain('Copies sent there will fail');
    },
    STEP_TIMEOUT,
  );

  it(
    'shows a run whose copy failed as partial: schedule card, history, the job failed at its upload step, the Backups count',
    async () => {
      await scheduleCard().getByRole('button', { name: 'Run now' }).click();
      const job = scheduleCard().locator('[data-testid="inline-job"][data-job-kind="backup.create"]');
      await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('failed');
      const jobId = (await api('GET', `/api/v1/instances/${instance.id}/schedule`)).json().schedule.lastJobId;
      await job.getByRole('button', { name: 'Dismiss' }).click();
      const lastRun = scheduleCard().getByTestId('schedule-last-run');
      await lastRun
        .getByText(/ago|now/)
        .first()
        .waitFor();
      await page.waitForTimeout(1500);
      await snap('offsite-schedule-card', { fullPage: false, scrollTo: scheduleCard() });
      const listed = backupsTable().locator('tbody > tr[data-backup-id]').first();
      await listed.waitFor();
      const cardState = await lastRun
        .getByTestId('run-state')
        .getAttribute('data-state', { timeout: 3000 })
        .catch(() => null);
      const cardText = await lastRun.textContent();
      const cardRetry = await lastRun.getByRole('button', { name: 'Retry copy' }).count();
      const listedState = await listed.getAttribute('data-run-state');
      await page.goto(`${baseUrl}/backups/history`);
      const row = history().locator('tbody > tr[data-run-id]').first();
      await row.waitFor();
      await snap('offsite-run-history', { fullPage: false });

      expect(cardState).toBe('partial');
      expect(cardText).toContain('Copy to closed failed');
      expect(cardRetry).toBe(1);
      expect(listedState).toBe('partial');
      expect(await row.getAttribute('data-run-state')).toBe('partial');
      expect(await row.getByTestId('run-state').textContent()).toBe('partial');
      expect(await row.getByRole('button', { name: 'Retry copy' }).count()).toBe(1);

      // The job names the step that failed, marked ✗; the others are not all ✓.
      await page.goto(`${baseUrl}/jobs/${jobId}`);
      const steps = page.getByRole('list', { name: 'Steps' });
      await steps.waitFor();
      await snap('offsite-job', { fullPage: false });
      expect(await steps.locator('li[data-status="failed"]').getAttribute('data-step')).toBe('upload');
      expect(await steps.locator('li[data-status="skipped"]').getAttribute('data-step')).toBe('retention');

      await page.goto(`${baseUrl}/backups`);
      const count = page.getByTestId('stat-failed');
      await count.waitFor();
      await snap('offsite-backups-count', { fullPage: false });
      await expect.poll(async () => count.locator('.stat-value').textContent()).toBe('1');
    },
    JOB_TIMEOUT,
  );

  it(
    'edits a destination: its fields prefilled, secrets kept, tested again on saving; its health follows',
    async () => {
      await page.goto(`${baseUrl}/organizations/acme/destinations`);
      const row = page.locator('tr[data-name="closed"]');
      await row.waitFor();
      await snap('offsite-destinations');
      await row.getByRole('button', { name: 'Edit' }).click();
      const dialog = page.getByRole('dialog', { name: 'Edit closed' });
      expect(await dialog.getByLabel('Endpoint').inputValue()).toBe(closedEndpoint);
      expect(await dialog.getByLabel('Secret access key').inputValue()).toBe('');
      await dialog.getByLabel('Endpoint').fill(s3.endpoint);
      await dialog.getByLabel('Bucket').fill(s3.bucket);
      await snap('offsite-edit-dialog', { fullPage: false });
      await dialog.getByRole('button', { name: 'Test and save' }).click();
      await dialog.waitFor({ state: 'detached', timeout: 30_000 });
      await expect.poll(async () => row.getByTestId('destination-health').getAttribute('data-health')).toBe('ok');
      const id = await row.getAttribute('data-destination-id');
      expect(await page.locator(`tr[data-probe-for="${id}"]`).getByTestId('probe-result').getAttribute('data-ok')).toBe(
        'true',
      );
      await snap('offsite-destinations-edited');
    },
    STEP_TIMEOUT,
  );

  it(
    '"Retry copy" uploads the failed copy again, and the run becomes completed',
    async () => {
      await page.goto(`${baseUrl}/instances/${instance.id}?tab=backups`);
      const lastRun = scheduleCard().getByTestId('schedule-last-run');
      await lastRun.getByRole('button', { name: 'Retry copy' }).click();
      await page.getByText('The failed copy is being uploaded again.').waitFor();
      const jobs = (await api('GET', '/api/v1/jobs?kind=backup.copy')).json().jobs as { id: string }[];
      expect(jobs).toHaveLength(1);
      const job = async () => {
        const answer = (await api('GET', `/api/v1/jobs/${jobs[0]?.id}`)).json();
        return `${answer.job.status} ${answer.job.error?.message ?? ''}`.trim();
      };
      await expect.poll(job, { timeout: 60_000, interval: 1000 }).toBe('succeeded');
      await page.reload();
      await scheduleCard().getByTestId('schedule-description').waitFor();
      await snap('offsite-retried', { fullPage: false, scrollTo: scheduleCard() });
      await expect.poll(async () => lastRun.getByTestId('run-state').getAttribute('data-state')).toBe('completed');
      expect(await scheduleCard().getByTestId('schedule-destination-warning').count()).toBe(0);
      const row = backupsTable().locator('tbody > tr[data-backup-id]').first();
      expect(await row.getAttribute('data-run-state')).toBe('completed');
    },
    JOB_TIMEOUT,
  );
});
