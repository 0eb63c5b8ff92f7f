import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { as, memberBrowser } from '../../../test/helpers/app.js';
import { followJob } from '../../../test/helpers/jobs.js';
import {
  admin,
  advance,
  answers,
  baseUrl,
  call,
  getBackup,
  headers,
  instance,
  once,
  PASSPHRASE,
  SPARE_SECRET,
  s3,
  sftp,
  sql,
  startMarinaWithStorageServers,
  succeeded,
  t,
  theDestinations,
} from './offsite-test-support.js';

/**
 * Offsite copies, schedules and retention against real SFTP and S3 stand-ins, Docker, PostgreSQL
 * and the Odoo stand-in. One file on purpose: the last test checks that no secret was in any answer
 * the earlier ones received.
 */
startMarinaWithStorageServers();

describe('destinations', { timeout: 300_000 }, () => {
  it('are added with their secrets sealed, tested with a probe, and the SFTP host key is pinned when added', async () => {
    const { s3Made, sftpMade, s3Destination, sftpDestination } = await theDestinations();
    const acme = (await call('GET', '/api/v1/organizations/acme')).json().organization;
    expect(s3Made.statusCode, s3Made.body).toBe(201);
    expect(s3Made.json().destination).toMatchObject({ kind: 's3', encrypted: true });
    expect(s3Made.json().destination.secretsSet.sort()).toEqual(['encryptionPassphrase', 'secretAccessKey']);

    expect(sftpMade.statusCode, sftpMade.body).toBe(201);
    // Adding it ran the connection test and pinned the key it showed.
    expect(sftpMade.json().destination.sftp.hostKeyFingerprint).toBe(sftp.fingerprint);

    // A destination whose secret is its own (s3rver's only secret equals its key id): refused, and never shown.
    const spare = await call('POST', '/api/v1/destinations', {
      organizationId: acme.id,
      name: 'wrong secret',
      kind: 's3',
      // Its connection test fails: saved only because it is asked to be (and marked unhealthy).
      saveAnyway: true,
      s3: {
        endpoint: s3.endpoint,
        bucket: s3.bucket,
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: SPARE_SECRET,
      },
    });
    expect(spare.statusCode, spare.body).toBe(201);
    const refused = await call('POST', `/api/v1/destinations/${spare.json().destination.id}/test`);
    expect(refused.json()).toMatchObject({ ok: false, error: { reason: 'auth' } });
    const wrongBucket = await call('POST', '/api/v1/destinations', {
      organizationId: acme.id,
      name: 'no such bucket',
      kind: 's3',
      saveAnyway: true,
      s3: {
        endpoint: s3.endpoint,
        bucket: 'no-such-bucket',
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
    });
    const missing = await call('POST', `/api/v1/destinations/${wrongBucket.json().destination.id}/test`);
    expect(missing.json()).toMatchObject({ ok: false, error: { reason: 'bucket-missing' } });
    expect(missing.json().error.message).toContain('no-such-bucket');

    const s3Test = await call('POST', `/api/v1/destinations/${s3Destination.id}/test`);
    expect(s3Test.json(), s3Test.body).toMatchObject({ ok: true, error: null });
    expect(s3Test.json().steps.map((s: { step: string }) => s.step)).toEqual(['connect', 'write', 'read', 'delete']);

    const sftpTest = await call('POST', `/api/v1/destinations/${sftpDestination.id}/test`);
    expect(sftpTest.json(), sftpTest.body).toMatchObject({ ok: true, pinned: false });
    expect(sftpTest.json().hostKeyFingerprint).toBe(sftp.fingerprint);
    const listed = (await call('GET', `/api/v1/destinations?organizationId=${acme.id}`)).json().destinations;
    expect(listed.find((d: { id: string }) => d.id === sftpDestination.id).sftp.hostKeyFingerprint).toBe(
      sftp.fingerprint,
    );
  });

  it('refuse bad input with a clear error and create nothing; members cannot add them', async () => {
    const before = (await call('GET', '/api/v1/destinations')).json().destinations.length;
    const acme = (await call('GET', '/api/v1/organizations/acme')).json().organization;
    const bad = [
      { kind: 's3', s3: { bucket: 'Bad_Bucket', accessKeyId: 'a', secretAccessKey: 'b' } },
      { kind: 's3', s3: { endpoint: 'ftp://x', bucket: 'okbucket', accessKeyId: 'a', secretAccessKey: 'b' } },
      { kind: 'sftp', sftp: { host: 'bad host', username: 'u', password: 'p' } },
      { kind: 'sftp', sftp: { host: 'h.example', username: 'u', folder: '../etc', password: 'p' } },
      { kind: 'sftp', sftp: { host: 'h.example', username: 'u' } },
      { kind: 'sftp', sftp: { host: 'h.example', username: 'u', password: 'p' }, encryption: { passphrase: 'short' } },
    ];
    for (const body of bad) {
      const response = await call('POST', '/api/v1/destinations', { organizationId: acme.id, name: 'x', ...body });
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json().error.code).toBe('MARINA_E_VALIDATION');
    }
    expect((await call('GET', '/api/v1/destinations')).json().destinations.length).toBe(before);
    const member = await memberBrowser(t, admin, 'acme', 'member@acme.test', 'member');
    const refused = await as(t, member)('POST', '/api/v1/destinations', {
      organizationId: acme.id,
      name: 'mine',
      kind: 'sftp',
      sftp: { host: 'h.example', username: 'u', password: 'p' },
    });
    expect(refused.statusCode).toBe(403);
    const platformWide = await as(t, member)('POST', '/api/v1/destinations', {
      name: 'everyone',
      kind: 'sftp',
      sftp: { host: 'h.example', username: 'u', password: 'p' },
    });
    expect(platformWide.statusCode).toBe(403);
  });
});

describe('copies', { timeout: 300_000 }, () => {
  /** A native backup of over 16 MB, its job done: copied to both destinations. */
  const theCopiedBackup = once(async () => {
    const { s3Destination, sftpDestination } = await theDestinations();
    // Enough data that the S3 upload takes several parts.
    await sql(
      'create table marina_bulk as select i, md5(i::text) || md5(random()::text) as pad from generate_series(1, 600000) i',
    );
    const made = await call('POST', `/api/v1/instances/${instance.id}/backups`, {
      kind: 'full',
      format: 'native',
      destinationIds: [s3Destination.id, sftpDestination.id],
    });
    expect(made.statusCode, made.body).toBe(202);
    const job = await succeeded(made.json().job.id);
    return { job, backupId: made.json().backup.id as string };
  });

  it('upload to S3 (encrypted, multipart) and SFTP, each read back and verified before it counts', async () => {
    const { job, backupId } = await theCopiedBackup();
    expect(job.steps.map((s) => s.name)).toEqual(['prepare', 'write', 'finish', 'upload']);
    const backup = await getBackup(backupId);
    expect(backup.sizeBytes).toBeGreaterThan(16 * 1024 * 1024);
    expect(backup.copies.map((c) => [c.status, c.encrypted]).sort()).toEqual([
      ['verified', false],
      ['verified', true],
    ]);
    const local = await readFile(join(t.config.backups.dir, instance.id, `${backupId}.tar.zst`));
    // SFTP: the very bytes, under the folder.
    const remote = await readFile(join(sftp.home, 'backups', instance.id, `${backupId}.tar.zst`));
    expect(createHash('sha256').update(remote).digest('hex')).toBe(backup.sha256);
    expect(local.equals(remote)).toBe(true);
    // S3: only ciphertext in the bucket.
    const object = await s3.read(`marina/acme/${instance.id}/${backupId}.tar.zst.enc`);
    expect(object.subarray(0, 8).toString()).toBe('MARINAE1');
    expect(object.includes(local.subarray(0, 4096))).toBe(false);
  });

  it('download and restore from a remote copy when the local file is gone', async () => {
    const { backupId } = await theCopiedBackup();
    await t.db.updateTable('backups').set({ local_status: 'deleted' }).where('id', '=', backupId).execute();
    await rm(join(t.config.backups.dir, instance.id, `${backupId}.tar.zst`));
    const backup = await getBackup(backupId);
    const download = await as(t, admin)('GET', `/api/v1/backups/${backupId}/download`);
    expect(download.statusCode).toBe(200);
    expect(createHash('sha256').update(download.rawPayload).digest('hex')).toBe(backup.sha256);

    await sql("insert into ir_config_parameter (key, value) values ('marina.offsite.marker', 'after the backup')");
    const restore = await call('POST', `/api/v1/backups/${backupId}/restore`, {});
    expect(restore.statusCode, restore.body).toBe(202);
    await succeeded(restore.json().job.id);
    expect(await sql("select value from ir_config_parameter where key = 'marina.offsite.marker'")).toEqual([]);
    expect((await getBackup(backupId)).localStatus).toBe('present');
  });

  it('survive the SFTP server being killed mid-upload: retried, and verified only once it is', async () => {
    const { sftpDestination } = await theDestinations();
    // A backup big enough that its upload is still under way when the server dies.
    await sql(
      'create table marina_bulk2 as select i, md5(i::text) || md5(random()::text) || md5(random()::text) as pad from generate_series(1, 2500000) i',
    );
    const made = await call('POST', `/api/v1/instances/${instance.id}/backups`, {
      kind: 'full',
      format: 'native',
      destinationIds: [sftpDestination.id],
    });
    const id = made.json().backup.id as string;
    const folder = join(sftp.home, 'backups', instance.id);
    const partial = join(folder, `${id}.tar.zst.partial`);
    const deadline = Date.now() + 120_000;
    while (!(existsSync(partial) && statSync(partial).size > 2 * 1024 * 1024)) {
      if (Date.now() > deadline) throw new Error('the upload never started');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await sftp.kill();
    const during = await getBackup(id);
    expect(during.copies[0]?.status).not.toBe('verified');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sftp.restart();
    await succeeded(made.json().job.id);
    const after = await getBackup(id);
    expect(after.copies[0]).toMatchObject({ status: 'verified' });
    expect(after.copies[0]?.attempts).toBeGreaterThan(1);
    const remote = await readFile(join(folder, `${id}.tar.zst`));
    expect(createHash('sha256').update(remote).digest('hex')).toBe(after.sha256);
    expect((await readdir(folder)).filter((f) => f.endsWith('.partial'))).toEqual([]);
    await sql('drop table marina_bulk, marina_bulk2');
  });

  it('refuse a changed host key precisely, and the copy fails without ever being verified', async () => {
    const { sftpDestination } = await theDestinations();
    await sftp.rotateHostKey();
    const probe = await call('POST', `/api/v1/destinations/${sftpDestination.id}/test`);
    expect(probe.json()).toMatchObject({ ok: false, error: { reason: 'host-key-changed' } });
    expect(probe.json().error.message).toContain(sftp.fingerprint);
    const made = await call('POST', `/api/v1/instances/${instance.id}/backups`, {
      kind: 'database',
      format: 'native',
      destinationIds: [sftpDestination.id],
    });
    const { job } = await followJob(baseUrl, headers, made.json().job.id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('MARINA_E_COPY_FAILED');
    expect(job.error?.message).toContain('host key');
    const backup = await getBackup(made.json().backup.id);
    expect(backup.status).toBe('completed');
    expect(backup.copies[0]).toMatchObject({ status: 'failed' });
    const runs = (await call('GET', `/api/v1/backup-runs?instanceId=${instance.id}&status=problem`)).json().runs;
    expect(runs.map((r: { id: string }) => r.id)).toContain(backup.id);
    // Put the pinned key back for what follows.
    await t.db
      .updateTable('destinations')
      .set({
        settings: JSON.stringify({
          host: sftp.host,
          port: sftp.port,
          username: sftp.username,
          folder: 'backups',
          hostKeyFingerprint: sftp.fingerprint,
        }),
      })
      .where('id', '=', sftpDestination.id)
      .execute();
  });
});

describe('schedules, retention and verification', { timeout: 300_000 }, () => {
  it('run on time in their time zone, catch up once after downtime, and never overlap', async () => {
    const { s3Destination } = await theDestinations();
    const bad = await call('PUT', `/api/v1/instances/${instance.id}/schedule`, {
      spec: { kind: 'cron', expression: '* * * * *', timeZone: 'UTC' },
    });
    expect(bad.statusCode).toBe(400);
    const set = await call('PUT', `/api/v1/instances/${instance.id}/schedule`, {
      spec: { kind: 'daily', time: '02:00', timeZone: 'Europe/Brussels' },
      kind: 'database',
      format: 'native',
      destinationIds: [s3Destination.id],
      retention: {
        local: { last: 0, daily: 2, weekly: 0, monthly: 0 },
        destinations: { [s3Destination.id]: { daily: 3 } },
      },
    });
    expect(set.statusCode, set.body).toBe(200);
    // The test clock starts at 2026-11-21 09:00 UTC; 02:00 in Brussels (UTC+1 in winter) is 01:00 UTC.
    expect(set.json().schedule.nextRunAt).toBe('2026-11-22T01:00:00.000Z');
    expect(await t.services.schedules.tick()).toEqual([]);

    await advance(16 * 60 + 1); // 2026-11-22 01:01 UTC
    const first = await t.services.schedules.tick();
    expect(first.map((o) => o.outcome)).toEqual(['started']);
    // Due again while the first still runs: skipped, never two at once.
    await advance(24 * 60);
    const overlapped = await t.services.schedules.tick();
    expect(overlapped.map((o) => o.outcome)).toEqual(['skipped']);
    await succeeded(first[0]?.jobId as string);

    // Marina "down" for three days: one catch-up run, then the timetable from now.
    await advance(3 * 24 * 60);
    const caughtUp = await t.services.schedules.tick();
    expect(caughtUp.map((o) => o.outcome)).toEqual(['started']);
    await succeeded(caughtUp[0]?.jobId as string);
    expect(await t.services.schedules.tick()).toEqual([]);
    const schedule = (await call('GET', `/api/v1/instances/${instance.id}/schedule`)).json().schedule;
    expect(new Date(schedule.nextRunAt).getTime()).toBeGreaterThan(t.clock.now().getTime());
  });

  it('keeps what the policy says, previews before saving, never deletes a pinned backup', async () => {
    const { s3Destination } = await theDestinations();
    // Two more daily runs: four scheduled backups on four different days.
    for (let day = 0; day < 2; day++) {
      await advance(24 * 60);
      const run = await t.services.schedules.tick();
      expect(run.map((o) => o.outcome)).toEqual(['started']);
      await succeeded(run[0]?.jobId as string);
    }
    const scheduled = async () =>
      (await call('GET', `/api/v1/backup-runs?instanceId=${instance.id}&trigger=schedule`)).json().runs as {
        id: string;
        localStatus: string;
        pinned: boolean;
        createdAt: string;
        copies: { status: string }[];
      }[];
    const runs = await scheduled();
    // Four runs on four days; each applied retention as its last step: daily 2 locally, daily 3 in
    // the bucket. The oldest is then kept nowhere, so its record went too.
    expect(runs.length).toBe(3);
    expect(runs.map((r) => r.localStatus)).toEqual(['present', 'present', 'deleted']);
    expect(runs.map((r) => r.copies[0]?.status)).toEqual(['verified', 'verified', 'verified']);

    const preview = await call('POST', '/api/v1/retention/preview', {
      instanceId: instance.id,
      policy: { last: 1 },
    });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json().keep.map((k: { backup: { id: string } }) => k.backup.id)).toEqual([runs[0]?.id]);
    expect(preview.json().delete.map((d: { id: string }) => d.id)).toEqual([runs[1]?.id]);

    // Pin the older local one, keep only the newest by policy: the pinned one stays.
    await call('POST', `/api/v1/backups/${runs[1]?.id}/pin`, { pinned: true });
    await call('PUT', `/api/v1/instances/${instance.id}/schedule`, {
      spec: { kind: 'daily', time: '02:00', timeZone: 'Europe/Brussels' },
      kind: 'database',
      format: 'native',
      destinationIds: [s3Destination.id],
      retention: { local: { last: 1 }, destinations: { [s3Destination.id]: { last: 1 } } },
    });
    const cleanup = await call('POST', '/api/v1/retention/run', { instanceId: instance.id });
    expect(cleanup.statusCode, cleanup.body).toBe(202);
    await succeeded(cleanup.json().job.id);
    const after = await scheduled();
    expect(after.map((r) => r.localStatus)).toEqual(['present', 'present']);
    expect(after.map((r) => r.copies[0]?.status)).toEqual(['verified', 'verified']);
    expect(after.map((r) => r.id)).toEqual([runs[0]?.id, runs[1]?.id]);
  });

  it('test-restores a backup into a throwaway database and records the modules it counted', async () => {
    const { s3Destination } = await theDestinations();
    const latest = (await call('GET', `/api/v1/backup-runs?instanceId=${instance.id}&trigger=schedule`)).json().runs[0];
    const started = await call('POST', `/api/v1/backups/${latest.id}/verify`);
    expect(started.statusCode, started.body).toBe(202);
    await succeeded(started.json().job.id);
    const backup = await getBackup(latest.id);
    expect(backup.verification).toMatchObject({ status: 'passed' });
    expect(backup.verification?.modules).toBeGreaterThan(0);
    const leftovers = await sql<{ datname: string }>(
      `select datname from pg_database where datname = '${instance.dbName}_verify'`,
    );
    expect(leftovers).toEqual([]);

    // Periodic: a schedule asking for a test restore every 7 days gets one at the next tick, once.
    const saved = await call('PUT', `/api/v1/instances/${instance.id}/schedule`, {
      spec: { kind: 'daily', time: '02:00', timeZone: 'Europe/Brussels' },
      kind: 'database',
      format: 'native',
      destinationIds: [s3Destination.id],
      retention: { local: { last: 1 }, destinations: { [s3Destination.id]: { last: 1 } } },
      verifyEveryDays: 7,
    });
    expect(saved.statusCode, saved.body).toBe(200);
    const verifyJobs = () =>
      t.db
        .selectFrom('operations')
        .select('id')
        .where('kind', '=', 'backup.verify')
        .orderBy('created_at', 'desc')
        .execute();
    const before = (await verifyJobs()).length;
    expect(await t.services.schedules.tick()).toEqual([]);
    const queued = await verifyJobs();
    expect(queued.length).toBe(before + 1);
    await succeeded(queued[0]?.id as string);
    await t.services.schedules.tick();
    expect((await verifyJobs()).length).toBe(before + 1);
  });
});

describe('secrets', { timeout: 300_000 }, () => {
  it('never appear in API answers, the audit trail or the log', async () => {
    const audit = JSON.stringify(await t.db.selectFrom('audit_events').selectAll().execute());
    const log = t.logs.join('\n');
    const keyBody = sftp.privateKey
      .split('\n')
      .filter((l: string) => l && !l.startsWith('-----'))
      .join('');
    for (const secret of [PASSPHRASE, SPARE_SECRET, sftp.password, keyBody.slice(10, 60)]) {
      for (const body of answers) expect(body.includes(secret)).toBe(false);
      expect(audit.includes(secret)).toBe(false);
      expect(log.includes(secret)).toBe(false);
    }
    const stored = await t.db.selectFrom('destinations').select('secrets').execute();
    for (const row of stored) expect(row.secrets.includes(PASSPHRASE)).toBe(false);
  });
});
