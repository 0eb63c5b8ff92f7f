import { describe, expect, it } from 'vitest';
import { as, memberBrowser } from '../../../test/helpers/app.js';
import { makeOrganizationWithAdmin } from '../../../test/helpers/factories.js';
import { followJob } from '../../../test/helpers/jobs.js';
import {
  addFilestoreFile,
  admin,
  backup,
  baseUrl,
  filestoreFiles,
  headers,
  instance,
  onVolume,
  sql,
  startMarinaWithStandinInstance,
  t,
} from './backups-test-support.js';

startMarinaWithStandinInstance();

type Undo = { until: string; operationId: string } | null;

const HOUR_MS = 3600_000;

async function undoOf(): Promise<Undo> {
  return (await as(t, admin)('GET', `/api/v1/instances/${instance.id}`)).json().instance.undo;
}

async function databasesBeside(): Promise<string[]> {
  const rows = await sql<{ datname: string }>('postgres', 'select datname from pg_database where datname like $1', [
    `${instance.dbName}%`,
  ]);
  return rows.map((r) => r.datname).sort();
}

async function partnerNames(): Promise<string[]> {
  return (await sql<{ name: string }>(instance.dbName, 'select name from res_partner order by id')).map((r) => r.name);
}

/**
 * Polls the instance's Odoo and the job together until the job ends: which step ran when each
 * request was answered, or failed.
 */
async function servedDuring(jobId: string): Promise<{ step: string; ok: boolean }[]> {
  const seen: { step: string; ok: boolean }[] = [];
  for (;;) {
    const job = (await as(t, admin)('GET', `/api/v1/jobs/${jobId}`)).json().job;
    if (!['queued', 'running'].includes(job.status)) return seen;
    const step = (job.steps as { name: string; status: string }[]).find((s) => s.status === 'running')?.name ?? '-';
    const ok = await fetch(`${instance.url}/web/health`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.ok)
      .catch(() => false);
    seen.push({ step, ok });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('restores keep what they replaced as an undo (stand-in Odoo)', () => {
  it('loads beside the live instance while it serves, swaps, and keeps the replaced data as the undo', async () => {
    await addFilestoreFile('in the backup');
    const kept = Object.keys(await filestoreFiles()).sort();
    const made = await backup('full', 'native');
    await sql(instance.dbName, "update res_partner set name = 'CHANGED AFTER BACKUP' where id = 1");
    const added = await addFilestoreFile('made after the backup');
    const changed = await partnerNames();

    const restore = await as(t, admin)('POST', `/api/v1/backups/${made.id}/restore`, {});
    expect(restore.statusCode).toBe(202);
    const jobId = restore.json().job.id as string;
    const [served, followed] = await Promise.all([servedDuring(jobId), followJob(baseUrl, headers, jobId, 180_000)]);
    expect(followed.job.error).toBeNull();
    expect(followed.job.steps.map((s) => s.name)).toEqual([
      'verify',
      'load',
      'stop',
      'swap',
      'start',
      'health',
      'cleanup',
    ]);
    // Odoo answered while the new data loaded beside it; it went without only once the job stopped it.
    expect(served.filter((s) => s.step === 'load').length).toBeGreaterThan(0);
    expect(served.filter((s) => ['verify', 'load'].includes(s.step)).every((s) => s.ok)).toBe(true);
    const lastLoad = served.map((s) => s.step).lastIndexOf('load');
    expect(served.slice(0, lastLoad + 1).every((s) => s.ok)).toBe(true);

    expect(await partnerNames()).not.toContain('CHANGED AFTER BACKUP');
    expect(Object.keys(await filestoreFiles()).sort()).toEqual(kept);
    // No safety backup: the replaced database and folder are the undo, kept beside.
    const safety = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}/backups?trigger=pre-restore`)).json();
    expect(safety.backups).toEqual([]);
    expect(await databasesBeside()).toEqual([instance.dbName, `${instance.dbName}_undo`].sort());
    expect((await onVolume('ls -1 /data/filestore')).trim().split('\n').sort()).toEqual(
      [instance.dbName, `${instance.dbName}.undo`].sort(),
    );
    const undo = await undoOf();
    expect(undo).toEqual({ operationId: jobId, until: new Date(t.clock.now().getTime() + 24 * HOUR_MS).toISOString() });
    // Kept data is the tenant's storage: it counts in its usage.
    const alone = await sql<{ size: string }>('postgres', 'select pg_database_size($1)::text as size', [
      instance.dbName,
    ]);
    await t.services.usage.measure(instance.id);
    const measured = (
      await t.db
        .selectFrom('instance_usage')
        .select('database_bytes')
        .where('instance_id', '=', instance.id)
        .executeTakeFirstOrThrow()
    ).database_bytes;
    expect(Number(measured)).toBeGreaterThan(Number(alone[0]?.size));
    // Reconciliation knows the undo database: not an orphan.
    const report = (await as(t, admin)('GET', '/api/v1/reconcile')).json();
    expect(report.orphans.map((o: { name: string }) => o.name)).not.toContain(`${instance.dbName}_undo`);

    // The undo swaps back: the change and the file made after the backup are there again.
    const undone = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/undo-restore`, {});
    expect(undone.statusCode).toBe(202);
    const back = await followJob(baseUrl, headers, undone.json().job.id, 180_000);
    expect(back.job.error).toBeNull();
    expect(back.job.steps.map((s) => s.name)).toEqual(['stage', 'stop', 'swap', 'start', 'health', 'keep']);
    expect(await partnerNames()).toEqual(changed);
    expect(Object.keys(await filestoreFiles()).sort()).toEqual([...kept, added].sort());
    expect((await undoOf())?.operationId).toBe(undone.json().job.id);
    const health = await fetch(`${instance.url}/web/health`);
    expect(health.status).toBe(200);

    // And the undo of the undo brings the restored data back.
    const redo = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/undo-restore`, {});
    expect((await followJob(baseUrl, headers, redo.json().job.id, 180_000)).job.error).toBeNull();
    expect(await partnerNames()).not.toContain('CHANGED AFTER BACKUP');
    expect(Object.keys(await filestoreFiles()).sort()).toEqual(kept);
  }, 420_000);

  it('refuses an undo to members and when nothing is kept; deletes the undo once its time is up', async () => {
    const undo = await undoOf();
    if (!undo) {
      // Run alone (-t): make an undo first.
      const made = await backup('database', 'native');
      const restore = await as(t, admin)('POST', `/api/v1/backups/${made.id}/restore`, {});
      expect((await followJob(baseUrl, headers, restore.json().job.id, 180_000)).job.error).toBeNull();
    }
    const organizationId = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}`)).json().instance
      .organizationId;
    const viewer = await memberBrowser(t, admin, organizationId, 'viewer-undo@example.com', 'viewer');
    const refused = await as(t, viewer)('POST', `/api/v1/instances/${instance.id}/undo-restore`, {});
    expect(refused.statusCode).toBe(403);
    // Another organization's admin does not even learn the instance exists.
    const { admin: stranger } = await makeOrganizationWithAdmin(t, admin, { slug: 'stranger-undo' });
    const hidden = await as(t, stranger)('POST', `/api/v1/instances/${instance.id}/undo-restore`, {});
    expect(hidden.statusCode).toBe(404);
    expect(await undoOf()).not.toBeNull();
    // Not yet due: the round queues nothing.
    expect(await t.services.restoreUndo.expire()).toEqual([]);
    // Its time is up (set in the record: the test's sessions live on the same clock).
    await t.db
      .updateTable('instances')
      .set({ undo_until: new Date(t.clock.now().getTime() - 60_000) })
      .where('id', '=', instance.id)
      .execute();
    const late = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/undo-restore`, {});
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('MARINA_E_NOTHING_TO_UNDO');
    expect(await t.services.restoreUndo.expire()).toEqual([instance.id]);
    const jobs = (await as(t, admin)('GET', `/api/v1/jobs?target=${instance.id}&kind=instance.expire_undo`)).json()
      .jobs as {
      id: string;
      kind: string;
    }[];
    const expiry = jobs.find((j) => j.kind === 'instance.expire_undo');
    expect(expiry).toBeDefined();
    expect((await followJob(baseUrl, headers, expiry?.id ?? '', 120_000)).job.error).toBeNull();
    expect(await undoOf()).toBeNull();
    expect(await databasesBeside()).toEqual([instance.dbName]);
    expect((await onVolume('ls -1 /data/filestore')).trim()).toBe(instance.dbName);
    // Once more: nothing is due, nothing is kept.
    expect(await t.services.restoreUndo.expire()).toEqual([]);
    const none = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/undo-restore`, {});
    expect(none.json().error.code).toBe('MARINA_E_NOTHING_TO_UNDO');
  }, 420_000);
});
