import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STRONG_PASSWORD } from '../helpers/app.js';
import { signInPage } from '../helpers/browser.js';
import type { SftpTestServer } from '../helpers/sftp-server.js';
import {
  api,
  backupsTable,
  baseUrl,
  closedPort,
  history,
  instance,
  JOB_TIMEOUT,
  noSftp,
  PASSPHRASE,
  page,
  pageErrors,
  SMTP_PASSWORD,
  STEP_TIMEOUT,
  s3,
  scheduleCard,
  sftp,
  shots,
  smtp,
  snap,
  startMarinaAndChromium,
  TIME_ZONE,
  t,
  waitPastLocalMidnight,
} from './offsite-ui-support.js';

startMarinaAndChromium();

/**
 * Offsite copies in a real Chromium, against a real Marina (Docker, PostgreSQL, the Odoo stand-in)
 * and the S3 stand-in: the destinations page with its form and connection test, the schedule card
 * with its preset form and retention preview, "Run now" with its progress bar, the history with
 * its copy badges, the size chart, and the red banner of a copy that failed.
 */

describe('offsite copies in the web UI', () => {
  it(
    'adds an encrypted S3 destination through the form; the connection test shows each step ✓',
    async () => {
      await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
      await page.goto(`${baseUrl}/organizations/acme`);
      await page.getByRole('main').getByRole('link', { name: 'Destinations', exact: true }).click();
      await page.waitForURL(`${baseUrl}/organizations/acme/destinations`);
      await page.getByRole('heading', { name: 'No destinations yet' }).waitFor();

      await page.getByRole('button', { name: 'Add destination' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add destination' });
      await dialog.getByLabel('Name').fill('bucket');
      expect(await dialog.getByRole('radio', { name: 'S3-compatible' }).isChecked()).toBe(true);
      await dialog.getByLabel('Endpoint').fill(s3.endpoint);
      await dialog.getByLabel('Region').fill('us-east-1');
      await dialog.getByLabel('Bucket').fill(s3.bucket);
      await dialog.getByLabel('Prefix').fill('marina/ui');
      await dialog.getByRole('checkbox', { name: 'Path-style addressing' }).check();
      await dialog.getByLabel('Access key ID').fill(s3.accessKeyId);
      await dialog.getByLabel('Secret access key').fill(s3.secretAccessKey);
      expect(await dialog.getByLabel('Secret access key').getAttribute('type')).toBe('password');
      await dialog.getByRole('checkbox', { name: 'Encrypt the copies' }).check();
      await dialog.getByText('can never be read again').waitFor();
      await dialog.getByLabel('Encryption passphrase').fill(PASSPHRASE);
      await dialog.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
      await snap('o-01-add-destination', { fullPage: false });
      await dialog.getByRole('button', { name: 'Add destination' }).click();
      await dialog.waitFor({ state: 'detached' });

      const row = page.locator('tr[data-name="bucket"]');
      await row.waitFor();
      expect(await row.textContent()).toContain(`s3://${s3.bucket}/marina/ui`);
      expect(await row.textContent()).toContain('encrypted');
      await row.getByRole('button', { name: 'Test connection' }).click();
      const probe = page.getByTestId('probe-result');
      await probe.waitFor({ timeout: 30_000 });
      expect(await probe.getAttribute('data-ok')).toBe('true');
      const steps = probe.locator('.probe-step');
      expect(
        await steps.evaluateAll((els) => els.map((e) => [e.getAttribute('data-step'), e.getAttribute('data-ok')])),
      ).toEqual([
        ['connect', 'true'],
        ['write', 'true'],
        ['read', 'true'],
        ['delete', 'true'],
      ]);
      expect(await probe.textContent()).toMatch(/✓Connect\d+ ms/);
      // Secrets are write-only: nowhere in the page once saved.
      const html = await page.content();
      expect(html).not.toContain(s3.secretAccessKey);
      expect(html).not.toContain(PASSPHRASE);
      await snap('o-02-destinations-tested');
    },
    STEP_TIMEOUT,
  );

  it.skipIf(noSftp)(
    'adds an SFTP destination with a private key; adding it tests the server and pins its host key',
    async () => {
      const server = sftp as SftpTestServer;
      await page.getByRole('button', { name: 'Add destination' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add destination' });
      await dialog.getByLabel('Name').fill('storage box');
      await dialog.getByRole('radio', { name: 'SFTP' }).check();
      await dialog.getByLabel('Host', { exact: true }).fill(server.host);
      await dialog.getByLabel('Port').fill(String(server.port));
      await dialog.getByLabel('User', { exact: true }).fill(server.username);
      await dialog.getByLabel('Folder').fill('ui-backups');
      expect(await dialog.getByRole('radio', { name: 'Private key' }).isChecked()).toBe(true);
      await dialog.locator('textarea').fill(server.privateKey);
      await snap('o-02a-add-sftp-destination', { fullPage: false });
      await dialog.getByRole('button', { name: 'Add destination' }).click();
      await dialog.waitFor({ state: 'detached' });

      const row = page.locator('tr[data-name="storage box"]');
      await row.waitFor();
      expect(await row.getByTestId('host-key').textContent()).toBe(server.fingerprint);
      await row.getByRole('button', { name: 'Test connection' }).click();
      const id = await row.getAttribute('data-destination-id');
      const probe = page.locator(`tr[data-probe-for="${id}"]`).getByTestId('probe-result');
      await probe.waitFor({ timeout: 30_000 });
      expect(await probe.getAttribute('data-ok')).toBe('true');
      expect(await probe.getByTestId('probe-hostkey').textContent()).toContain(`Host key: ${server.fingerprint}`);
      // The list reloads with the pinned key.
      await expect.poll(async () => row.getByTestId('host-key').textContent()).toBe(server.fingerprint);
      expect(await page.content()).not.toContain(server.privateKey.split('\n')[1]);
      expect(
        await page.evaluate(
          `(() => { const w = document.querySelector('table.destinations-table').closest('.table-wrap'); return w.scrollWidth <= w.clientWidth; })()`,
        ),
      ).toBe(true);
      await snap('o-02b-sftp-pinned');
    },
    STEP_TIMEOUT,
  );

  it(
    'sets a weekly schedule with the preset form and shows its next run',
    async () => {
      await page.goto(`${baseUrl}/instances/${instance.id}?tab=backups`);
      const card = scheduleCard();
      await card.getByText('not set up').waitFor();
      await card.getByRole('button', { name: 'Set up a schedule' }).click();
      const form = card.getByRole('form', { name: 'Edit the backup schedule' });
      // The browser's zone comes preselected.
      expect(await form.getByLabel('Time zone').inputValue()).toBe(TIME_ZONE);
      await form.getByRole('radio', { name: 'Weekly' }).check();
      await form.getByLabel('Day', { exact: true }).selectOption({ label: 'Wednesday' });
      await form.getByLabel('Time', { exact: true }).fill('03:30');
      await form.getByRole('checkbox', { name: /^bucket/ }).check();
      await form.getByLabel('This server: daily').fill('5');
      // The bucket keeps more than this server: its own policy.
      expect(await form.getByLabel('bucket: last').isDisabled()).toBe(true);
      await form.getByRole('checkbox', { name: 'same as this server' }).uncheck();
      await form.getByLabel('bucket: last').fill('10');
      // The preview answers for this server and for the bucket: nothing scheduled yet.
      await form.locator('tr[data-scope="local"]').getByText('no scheduled backups yet').waitFor();
      await form.locator('tbody tr').nth(1).getByText('no scheduled backups yet').waitFor();
      await form.getByRole('checkbox', { name: 'Test-restore the newest backup regularly' }).check();
      await snap('o-03-schedule-form');
      await form.getByRole('button', { name: 'Save schedule' }).click();
      await form.waitFor({ state: 'detached' });

      await expect.poll(async () => card.getByTestId('schedule-description').textContent()).toMatch(/Wednesday/);
      expect(await card.getByTestId('schedule-description').textContent()).toContain('03:30');
      expect(await card.getAttribute('data-enabled')).toBe('true');
      const saved = (await api('GET', `/api/v1/instances/${instance.id}/schedule`)).json().schedule;
      expect(saved.spec).toEqual({ kind: 'weekly', weekday: 3, time: '03:30', timeZone: TIME_ZONE });
      expect(saved.retention.local).toEqual({ last: 0, daily: 5, weekly: 4, monthly: 3 });
      expect(Object.values(saved.retention.destinations)).toEqual([{ last: 10, daily: 5, weekly: 4, monthly: 3 }]);
      expect(saved.verifyEveryDays).toBe(7);
      // The next run, in the browser's (Brussels) time: a Wednesday at 03:30, some days ahead.
      const next = new Date(saved.nextRunAt);
      const local = new Intl.DateTimeFormat('en-US', {
        timeZone: TIME_ZONE,
        weekday: 'long',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(next);
      expect(local).toBe('Wednesday 03:30');
      const nextRun = await card.getByTestId('schedule-next-run').textContent();
      expect(nextRun).toMatch(/in \d+ (days?|hours?|minutes?)|tomorrow/);
      expect(await card.getByTestId('schedule-destinations').locator('dd').textContent()).toBe('bucket');
      await snap('o-04-schedule-card');
    },
    STEP_TIMEOUT,
  );

  it(
    'runs it now: the progress bar reaches done, the history shows the copy ✓, retention removes a local file',
    async () => {
      // Two runs a minute apart, just before the browser's real time (so "Last run" reads as past)
      // and on the same day in Brussels (retention keeps one backup a day).
      await waitPastLocalMidnight(3);
      for (let run = 1; run <= 2; run++) {
        t.clock.set(new Date(Date.now() - (3 - run) * 60_000));
        await scheduleCard().getByRole('button', { name: 'Run now' }).click();
        const job = scheduleCard().locator('[data-testid="inline-job"][data-job-kind="backup.create"]');
        await job.getByRole('progressbar').waitFor();
        await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
        expect(await job.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
        if (run === 1) await snap('o-05-run-now-done');
        await job.getByRole('button', { name: 'Dismiss' }).click();
      }

      const runs = (await api('GET', `/api/v1/backup-runs?instanceId=${instance.id}`)).json().runs;
      expect(runs.map((r: { trigger: string; status: string }) => [r.trigger, r.status])).toEqual([
        ['schedule', 'completed'],
        ['schedule', 'completed'],
      ]);
      // The instance's one table of backups (no second "history" table of the same runs).
      const row = backupsTable().locator(`tr[data-backup-id="${runs[0].id}"]`);
      await expect.poll(async () => row.getAttribute('data-status'), { timeout: 20_000 }).toBe('completed');
      const badge = row.getByTestId('copy-badge');
      await expect.poll(async () => badge.getAttribute('data-status'), { timeout: 20_000 }).toBe('verified');
      expect(await badge.getAttribute('data-destination')).toBe('bucket');
      expect(await badge.textContent()).toContain('bucket✓');
      expect(await row.getAttribute('data-trigger')).toBe('schedule');
      expect(await row.textContent()).toMatch(/Scheduled/);
      // Opened, the row tells the copy's size, attempts and when it was verified.
      await row.getByRole('button', { name: 'Show details' }).click();
      const details = backupsTable().getByRole('table', { name: 'Copies' });
      expect(await details.textContent()).toMatch(/bucket.*verified/);
      // The backups table shows the same copy on the backup.
      const listed = backupsTable().locator(`tr[data-backup-id="${runs[0].id}"]`);
      expect(await listed.getByTestId('copy-badge').getAttribute('data-status')).toBe('verified');
      // The second run's retention kept one backup a day here, but the bucket keeps the last 10: the
      // first backup's local file is gone, its copy stays, and it can still be downloaded from there.
      expect(runs[1].localStatus).toBe('deleted');
      const older = backupsTable().locator(`tr[data-backup-id="${runs[1].id}"]`);
      await older.getByTestId('local-removed').waitFor({ timeout: 20_000 });
      expect(await older.getByTestId('copy-badge').getAttribute('data-status')).toBe('verified');
      expect(await older.getByRole('link', { name: 'Download' }).getAttribute('title')).toContain('offsite copy');
      // The schedule card tells when it last ran.
      expect(await scheduleCard().getByTestId('schedule-last-run').textContent()).toMatch(/ago|now/);
      await snap('o-06-history');
      // Tidy: the wider backups table still fits the page without a horizontal scroll.
      const fits = (selector: string) =>
        page.evaluate(
          `(() => { const w = document.querySelector('${selector}').closest('.table-wrap'); return w.scrollWidth <= w.clientWidth; })()`,
        );
      expect(await fits('table.backups-table')).toBe(true);
      await backupsTable().screenshot({ path: join(shots, 'o-06a-backups-table.png') });
    },
    JOB_TIMEOUT * 2 + 4 * 60_000, // may first wait out the minutes after midnight
  );

  it(
    'test-restores the backup whose local file retention removed, from its encrypted offsite copy',
    async () => {
      const runs = (await api('GET', `/api/v1/backup-runs?instanceId=${instance.id}`)).json().runs;
      const older = backupsTable().locator(`tr[data-backup-id="${runs[1].id}"]`);
      await older.getByRole('button', { name: 'Test restore' }).click();
      const job = page.locator('.started-jobs [data-testid="inline-job"][data-job-kind="backup.verify"]');
      await job.getByRole('progressbar').waitFor();
      await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      const note = older.getByTestId('verification');
      await expect.poll(async () => note.getAttribute('data-status'), { timeout: 20_000 }).toBe('passed');
      expect(await note.textContent()).toMatch(/restore test passed, \d+ modules/);
      // Fetched from the bucket for the test, the file is on this server again.
      await expect.poll(async () => older.getByTestId('local-removed').count(), { timeout: 20_000 }).toBe(0);
      await job.getByRole('button', { name: 'Dismiss' }).click();
    },
    JOB_TIMEOUT,
  );

  it(
    'previews what a tighter retention would delete, before saving',
    async () => {
      await scheduleCard().getByRole('button', { name: 'Edit schedule' }).click();
      const form = scheduleCard().getByRole('form', { name: 'Edit the backup schedule' });
      // Both scheduled backups are here again (the test restore fetched the older one back) and at
      // the bucket; one a day here would delete the older one.
      const local = form.locator('tr[data-scope="local"]').getByTestId('retention-effect');
      await expect.poll(async () => local.textContent(), { timeout: 10_000 }).toBe('keeps 1, deletes 1');
      const bucket = form.locator('tbody tr').nth(1);
      const effect = bucket.getByTestId('retention-effect');
      await expect.poll(async () => effect.textContent(), { timeout: 10_000 }).toBe('keeps 2, deletes 0');
      await form.getByLabel('bucket: daily').fill('0');
      await form.getByLabel('bucket: weekly').fill('0');
      await form.getByLabel('bucket: monthly').fill('0');
      await form.getByLabel('bucket: last').fill('1');
      await expect.poll(async () => effect.getAttribute('data-delete'), { timeout: 10_000 }).toBe('1');
      expect(await effect.getAttribute('data-keep')).toBe('1');
      expect(await effect.textContent()).toBe('keeps 1, deletes 1');
      const deletes = form.getByTestId('retention-deletes');
      expect(await deletes.textContent()).toContain('deletes 1 backup at bucket');
      await snap('o-07-retention-preview', { fullPage: false, scrollTo: form.getByRole('group', { name: 'Copy to' }) });
      // Keeping nothing is refused before anything is saved.
      await form.getByLabel('bucket: last').fill('0');
      await bucket.getByText('keeps nothing').waitFor();
      await form.getByRole('button', { name: 'Cancel' }).click();
      const saved = (await api('GET', `/api/v1/instances/${instance.id}/schedule`)).json().schedule;
      expect(saved.retention.local).toEqual({ last: 0, daily: 5, weekly: 4, monthly: 3 });
      expect(Object.values(saved.retention.destinations)).toEqual([{ last: 10, daily: 5, weekly: 4, monthly: 3 }]);
    },
    STEP_TIMEOUT,
  );

  it(
    'draws the sizes of the completed backups over time',
    async () => {
      const chart = page.getByTestId('backup-size-chart');
      await chart.waitFor();
      expect(await chart.evaluate((el) => el.tagName.toLowerCase())).toBe('svg');
      expect(await chart.locator('rect.size-bar').count()).toBe(2);
      expect(await chart.locator('rect.size-bar title').first().textContent()).toMatch(/\d+(\.\d+)? (B|KB|MB)/);
      expect(await chart.locator('text.size-axis-label').count()).toBeGreaterThan(2);
    },
    STEP_TIMEOUT,
  );

  it(
    'shows a copy that failed prominently: a red banner on the Backups tab',
    async () => {
      const acme = (await api('GET', '/api/v1/organizations/acme')).json().organization;
      const port = await closedPort();
      const made = await api('POST', '/api/v1/destinations', {
        organizationId: acme.id,
        name: 'closed',
        kind: 's3',
        // Nothing listens there: its connection test fails, so it is saved only when asked to.
        saveAnyway: true,
        s3: {
          endpoint: `http://127.0.0.1:${port}`,
          region: 'us-east-1',
          bucket: 'nowhere',
          forcePathStyle: true,
          accessKeyId: 'key',
          secretAccessKey: 'secret-of-a-closed-port',
        },
      });
      expect(made.statusCode, made.body).toBe(201);

      await page.reload();
      await scheduleCard().waitFor();
      expect(await page.getByTestId('backup-problem-banner').count()).toBe(0);
      await page.getByRole('button', { name: 'Back up now' }).first().click();
      const dialog = page.getByRole('dialog', { name: 'Back up now' });
      await dialog.getByRole('radio', { name: 'Native' }).check();
      await dialog.getByRole('checkbox', { name: /^closed/ }).check();
      await snap('o-08-backup-modal-destinations', { fullPage: false });
      await dialog.getByRole('button', { name: 'Start backup' }).click();
      await dialog.waitFor({ state: 'detached' });
      const job = page.locator('.started-jobs [data-testid="inline-job"][data-job-kind="backup.create"]');
      await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('failed');

      const banner = page.getByTestId('backup-problem-banner');
      await banner.waitFor({ timeout: 20_000 });
      expect(await banner.getAttribute('role')).toBe('alert');
      const text = (await banner.textContent()) ?? '';
      expect(text).toContain('The copy to closed failed:');
      expect(text).not.toContain('bucket failed');
      // The local backup itself is fine; its copy is the problem.
      const runs = (await api('GET', `/api/v1/backup-runs?instanceId=${instance.id}&status=problem`)).json().runs;
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ status: 'completed', problem: true });
      expect(runs[0].copies[0]).toMatchObject({ destinationName: 'closed', status: 'failed' });
      const listed = backupsTable().locator(`tr[data-backup-id="${runs[0].id}"]`);
      await expect
        .poll(async () => listed.getByTestId('copy-badge').getAttribute('data-status'), { timeout: 20_000 })
        .toBe('failed');
      expect(await listed.getByTestId('copy-badge').getAttribute('title')).toContain(runs[0].copies[0].error);
      await snap('o-09-failed-copy-banner');

      // "Problems only" keeps that backup alone in the instance's table.
      await banner.getByRole('button', { name: 'Show the problems in the history' }).click();
      await expect.poll(async () => backupsTable().locator('tbody > tr[data-backup-id]').count()).toBe(1);
      const problem = backupsTable().locator(`tr[data-backup-id="${runs[0].id}"]`);
      expect(await problem.getAttribute('data-problem')).toBe('true');
      expect(await problem.textContent()).toContain('Copy to closed failed');
      expect(await page.getByRole('form', { name: 'Backup filters' }).getByLabel('Status').inputValue()).toBe(
        'problem',
      );
      await snap('o-10-history-problems', { fullPage: false, scrollTo: page.getByTestId('backup-size-chart') });
    },
    JOB_TIMEOUT,
  );

  it(
    'lists the runs of every instance on the history page, and the copies on the all-backups page',
    async () => {
      const acme = (await api('GET', '/api/v1/organizations/acme')).json().organization;
      await page.goto(`${baseUrl}/backups`);
      await page.getByRole('link', { name: 'History' }).click();
      await page.waitForURL(`${baseUrl}/backups/history`);
      // The history page loads lazily and the backups page stays on screen meanwhile: its own
      // Organization filter would send the choice to /backups.
      await page.getByRole('heading', { name: 'Backup history' }).waitFor();
      await page.locator('#history-organization').selectOption(acme.id);
      // The list is remounted for the organization: wait for its own rows, not the ones of "All".
      await page.waitForURL(`${baseUrl}/backups/history?organization=${acme.id}`);
      const rows = history().locator('tbody > tr[data-run-id]');
      const problems = history().locator('tbody > tr.run-problem');
      await expect.poll(async () => [await rows.count(), await problems.count()]).toEqual([3, 1]);
      expect(await rows.first().textContent()).toContain('erp/main');
      await snap('o-11a-history-page');

      await page.goto(`${baseUrl}/backups`);
      const all = page.getByRole('table', { name: 'All backups' });
      await all.getByTestId('copy-badge').first().waitFor();
      expect(
        await page.evaluate(
          `(() => { const w = document.querySelector('table.backups-table').closest('.table-wrap'); return w.scrollWidth <= w.clientWidth; })()`,
        ),
      ).toBe(true);
      await snap('o-11b-all-backups');
    },
    STEP_TIMEOUT,
  );

  it(
    'lets a platform admin clean up every instance now, and forwards the address of the failure emails',
    async () => {
      await page.goto(`${baseUrl}/destinations`);
      await page.locator('tr[data-name="closed"]').waitFor();
      await page.getByRole('button', { name: 'Clean up now' }).click();
      const dialog = page.getByRole('dialog', { name: 'Clean up backups now?' });
      await dialog.getByRole('button', { name: 'Clean up now' }).click();
      await dialog.waitFor({ state: 'detached' });
      const job = page.locator('[data-testid="inline-job"][data-job-kind="backup.retention"]');
      await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      await snap('o-11-destinations-cleanup');

      if (!noSftp) {
        const row = page.locator('tr[data-name="storage box"]');
        await row.getByRole('button', { name: 'Delete storage box' }).click();
        const confirm = page.getByRole('dialog', { name: 'Delete storage box?' });
        await confirm.getByText('Nothing at the destination itself is deleted').waitFor();
        await confirm.getByRole('button', { name: 'Delete destination' }).click();
        await row.waitFor({ state: 'detached' });
      }

      await page.goto(`${baseUrl}/instances/${instance.id}/backups`);
      await page.waitForURL(`${baseUrl}/instances/${instance.id}?tab=backups`);
      await scheduleCard().waitFor();
      expect(pageErrors).toEqual([]);
    },
    JOB_TIMEOUT,
  );

  it(
    'sets the SMTP server on the settings page: the password is write-only, a test email arrives',
    async () => {
      await page.goto(`${baseUrl}/settings?tab=email`);
      const section = page.getByRole('region', { name: 'Email (SMTP)' });
      await section.getByText('not set up').waitFor();
      const form = section.getByRole('form', { name: 'SMTP server' });
      await form.getByLabel('SMTP host').fill('127.0.0.1');
      await form.getByLabel('Security').selectOption('none');
      expect(await form.getByLabel('Port').inputValue()).toBe('25');
      await form.getByLabel('Port').fill(String(smtp.port));
      await form.getByLabel('Username').fill('marina');
      await form.locator('input[type="password"]').fill(SMTP_PASSWORD);
      await form.getByLabel('From').fill('Marina <marina@example.com>');
      await form.getByRole('button', { name: 'Save' }).click();
      await section.getByText('password set').waitFor();
      expect(await form.locator('input[type="password"]').inputValue()).toBe('');
      expect(await page.content()).not.toContain(SMTP_PASSWORD);
      const saved = (await api('GET', '/api/v1/settings/smtp')).json().smtp;
      expect(saved).toMatchObject({ host: '127.0.0.1', port: smtp.port, security: 'none', passwordSet: true });

      await section.getByLabel('Send a test email to').fill('ops@example.com');
      await section.getByRole('button', { name: 'Send test email' }).click();
      await section.getByText('accepted the message for ops@example.com').waitFor({ timeout: 20_000 });
      const message = await smtp.waitForMessage((m) => m.to.includes('ops@example.com'), 10_000);
      expect(message.user).toBe('marina');
      await snap('o-12-settings-email');
      expect(pageErrors).toEqual([]);
    },
    STEP_TIMEOUT,
  );
});
