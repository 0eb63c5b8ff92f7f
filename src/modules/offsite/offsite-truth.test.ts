import { describe, expect, it } from 'vitest';
import { as } from '../../../test/helpers/app.js';
import { followJob } from '../../../test/helpers/jobs.js';
import {
  admin,
  advance,
  baseUrl,
  getBackup,
  headers,
  instance,
  s3,
  startMarinaWithStorageServers,
  t,
} from './offsite-test-support.js';

/**
 * Issue #17, "tell the truth": a destination is tested before it is saved and keeps its health; it
 * can be edited; a scheduled run whose copy failed is "partial" everywhere (schedule, history, the
 * job's failing step), and "Retry copy" uploads again only the copy that failed.
 */
startMarinaWithStorageServers();

const api = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
  as(t, admin)(method, url, body);

/** A loopback endpoint nothing listens on: connections to it are refused at once. */
const CLOSED = 'http://127.0.0.1:2';

const s3Fields = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  bucket: s3.bucket,
  prefix: 'marina/truth',
  forcePathStyle: true,
  accessKeyId: s3.accessKeyId,
  secretAccessKey: s3.secretAccessKey,
});

async function acmeId(): Promise<string> {
  return (await api('GET', '/api/v1/organizations/acme')).json().organization.id;
}

async function destinationNamed(name: string) {
  const all = (await api('GET', '/api/v1/destinations')).json().destinations as {
    id: string;
    name: string;
    s3: { endpoint: string | null } | null;
    secretsSet: string[];
    health: { status: string; testedAt: string | null; error: string | null };
  }[];
  return all.find((d) => d.name === name);
}

describe('destinations are tested before they are saved, keep their health, and can be edited', {
  timeout: 300_000,
}, () => {
  it('refuses a destination whose connection test fails, with its steps; "save anyway" keeps it marked unhealthy', async () => {
    const organizationId = await acmeId();
    const refused = await api('POST', '/api/v1/destinations', {
      organizationId,
      name: 'closed',
      kind: 's3',
      s3: s3Fields(CLOSED),
    });
    expect(refused.statusCode, refused.body).toBe(502);
    expect(refused.json().error.code).toBe('MARINA_E_STORAGE');
    expect(refused.json().error.message).toContain('connection test failed at "connect"');
    expect(refused.json().error.details.steps).toEqual([expect.objectContaining({ step: 'connect', ok: false })]);
    expect(await destinationNamed('closed')).toBeUndefined();

    const anyway = await api('POST', '/api/v1/destinations', {
      organizationId,
      name: 'closed',
      kind: 's3',
      s3: s3Fields(CLOSED),
      saveAnyway: true,
    });
    expect(anyway.statusCode, anyway.body).toBe(201);
    expect(anyway.json().test).toMatchObject({ ok: false, error: { reason: expect.any(String) } });
    expect(anyway.json().destination.health).toMatchObject({ status: 'failed', testedAt: expect.any(String) });
    expect((await destinationNamed('closed'))?.health.status).toBe('failed');

    const good = await api('POST', '/api/v1/destinations', {
      organizationId,
      name: 'good',
      kind: 's3',
      s3: s3Fields(s3.endpoint),
    });
    expect(good.statusCode, good.body).toBe(201);
    expect(good.json().test.steps.map((s: { step: string; ok: boolean }) => `${s.step} ${s.ok}`)).toEqual([
      'connect true',
      'write true',
      'read true',
      'delete true',
    ]);
    expect(good.json().destination.health.status).toBe('ok');
  });

  it('records each connection test as the health, and warns in a schedule that sends copies to a failing one', async () => {
    const closed = await destinationNamed('closed');
    const good = await destinationNamed('good');
    const test = await api('POST', `/api/v1/destinations/${good?.id}/test`);
    expect(test.json().ok).toBe(true);
    expect((await destinationNamed('good'))?.health.status).toBe('ok');
    const set = await api('PUT', `/api/v1/instances/${instance.id}/schedule`, {
      spec: { kind: 'daily', time: '02:00', timeZone: 'Europe/Brussels' },
      kind: 'database',
      format: 'native',
      destinationIds: [good?.id, closed?.id],
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json().schedule.destinationWarnings).toEqual([
      { destinationId: closed?.id, name: 'closed', health: expect.objectContaining({ status: 'failed' }) },
    ]);
  });

  it('edits a destination: a field changed, its secret kept, tested again before saving; a failing edit changes nothing', async () => {
    const closed = await destinationNamed('closed');
    const failing = await api('PATCH', `/api/v1/destinations/${closed?.id}`, { name: 'still closed' });
    expect(failing.statusCode, failing.body).toBe(502);
    expect((await destinationNamed('closed'))?.s3?.endpoint).toBe(CLOSED);

    const taken = await api('PATCH', `/api/v1/destinations/${closed?.id}`, { name: 'GOOD', saveAnyway: true });
    expect(taken.statusCode).toBe(409);

    // Only the endpoint: the secret access key given when it was added is kept, and works.
    const fixed = await api('PATCH', `/api/v1/destinations/${closed?.id}`, {
      name: 'flaky',
      s3: { endpoint: s3.endpoint },
    });
    expect(fixed.statusCode, fixed.body).toBe(200);
    expect(fixed.json().test.ok).toBe(true);
    expect(fixed.json().destination).toMatchObject({
      name: 'flaky',
      s3: { endpoint: s3.endpoint, bucket: s3.bucket },
      secretsSet: ['secretAccessKey'],
      health: { status: 'ok' },
    });
    const schedule = (await api('GET', `/api/v1/instances/${instance.id}/schedule`)).json().schedule;
    expect(schedule.destinationWarnings).toEqual([]);
    const audit = await t.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', '=', 'destination.update')
      .execute();
    expect(audit).toHaveLength(1);
  });
});

describe('a scheduled run whose copy failed', { timeout: 300_000 }, () => {
  it('is "partial" everywhere: the schedule, the history, the job failed at its upload step ✗', async () => {
    const flaky = await destinationNamed('flaky');
    // The destination breaks after it was saved: its server moved away.
    await api('PATCH', `/api/v1/destinations/${flaky?.id}`, { s3: { endpoint: CLOSED }, saveAnyway: true });
    await advance(16 * 60 + 1); // past 02:00 in Brussels
    const started = await t.services.schedules.tick();
    expect(started.map((o) => o.outcome)).toEqual(['started']);
    const { job } = await followJob(baseUrl, headers, started[0]?.jobId as string, 180_000);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'MARINA_E_COPY_FAILED', step: 'upload' });
    expect(job.steps.map((s) => `${s.name} ${s.status}`)).toEqual([
      'prepare done',
      'write done',
      'finish done',
      'upload failed',
      'retention skipped',
    ]);

    const schedule = (await api('GET', `/api/v1/instances/${instance.id}/schedule`)).json().schedule;
    expect(schedule.lastRun).toMatchObject({
      state: 'partial',
      jobId: started[0]?.jobId,
      failedCopies: [{ destinationId: flaky?.id, destinationName: 'flaky' }],
    });
    expect(schedule.lastRun.error).toContain('flaky');
    const runs = (await api('GET', `/api/v1/backup-runs?instanceId=${instance.id}`)).json().runs;
    expect(runs[0]).toMatchObject({ id: schedule.lastRun.backupId, status: 'completed', runState: 'partial' });
    const problems = (await api('GET', `/api/v1/backup-runs?instanceId=${instance.id}&status=problem`)).json().runs;
    expect(problems.map((r: { id: string }) => r.id)).toEqual([schedule.lastRun.backupId]);
    const listed = (await api('GET', `/api/v1/instances/${instance.id}/backups`)).json().backups;
    expect(listed[0]).toMatchObject({ id: schedule.lastRun.backupId, runState: 'partial' });
  });

  it('"Retry copy" uploads again only the copy that failed, and the run becomes completed', async () => {
    const flaky = await destinationNamed('flaky');
    const good = await destinationNamed('good');
    const schedule = (await api('GET', `/api/v1/instances/${instance.id}/schedule`)).json().schedule;
    const backupId = schedule.lastRun.backupId as string;
    const before = await getBackup(backupId);
    const goodAttempts = before.copies.find((c) => c.destinationId === good?.id)?.attempts;
    await api('PATCH', `/api/v1/destinations/${flaky?.id}`, { s3: { endpoint: s3.endpoint } });

    const retried = await api('POST', `/api/v1/backups/${backupId}/retry-copies`);
    expect(retried.statusCode, retried.body).toBe(202);
    expect(retried.json().job).toMatchObject({ kind: 'backup.copy', target: { type: 'backup', id: backupId } });
    // A second click while it runs answers the same job.
    const again = await api('POST', `/api/v1/backups/${backupId}/retry-copies`);
    expect(again.json().job.id).toBe(retried.json().job.id);
    const { job } = await followJob(baseUrl, headers, retried.json().job.id, 120_000);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');

    const after = await getBackup(backupId);
    expect(after.copies.map((c) => c.status)).toEqual(['verified', 'verified']);
    expect(after.copies.find((c) => c.destinationId === good?.id)?.attempts).toBe(goodAttempts);
    const now = (await api('GET', `/api/v1/instances/${instance.id}/schedule`)).json().schedule;
    expect(now.lastRun).toMatchObject({ state: 'completed', failedCopies: [] });
    const nothing = await api('POST', `/api/v1/backups/${backupId}/retry-copies`);
    expect(nothing.statusCode).toBe(409);
  });
});
