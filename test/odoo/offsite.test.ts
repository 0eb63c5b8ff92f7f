import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/adapters/postgres/admin.js';
import { as, type Browser, SCHEDULE_CALENDAR_START, signIn, type TestApp } from '../helpers/app.js';
import {
  docker,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../helpers/docker.js';
import { followJob } from '../helpers/jobs.js';
import { odooSource, rpcLogin } from '../helpers/odoo.js';
import { type S3TestServer, startS3Server } from '../helpers/s3-server.js';

/**
 * Offsite copies and their verification against REAL Odoo 17 (ODOO_SOURCE): a scheduled backup in
 * Odoo's own zip format is copied, encrypted, to an S3 bucket (s3rver) and read back before it
 * counts; the schedule's periodic test restore counts the modules Odoo has installed; and with
 * the local file gone, a restore brings the backup back from the bucket and Odoo serves it.
 * src/modules/offsite/offsite.test.ts runs the same flows (and more) on the stand-in.
 */
const source = odooSource();
const PASSPHRASE = 'a long encryption passphrase for real odoo 5d1e';
const PREFIX = 'marina/acme';
const MARKER = 'marina.offsite.marker';

type InstanceView = { id: string; url: string; dbName: string; name: string };
type BackupView = {
  id: string;
  kind: string;
  format: string;
  trigger: string;
  status: string;
  sizeBytes: number;
  sha256: string;
  localStatus: string;
  copies: { destinationId: string; status: string; encrypted: boolean; sizeBytes: number | null; attempts: number }[];
  verification: { status: string; modules: number | null; durationMs: number; error: string | null } | null;
};
type JobView = {
  id: string;
  kind: string;
  status: string;
  steps: { name: string; status: string }[];
  error: { code: string; message: string } | null;
};

/** An Odoo session (cookie) for JSON-RPC calls, as the web client holds one. */
async function odooSession(url: string, db: string, login: string, password: string): Promise<string> {
  const response = await fetch(`${url}/web/session/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db, login, password } }),
  });
  const body = (await response.json()) as { result?: { uid: number }; error?: unknown };
  if (!body.result?.uid) throw new Error(`login to ${db} at ${url} failed: ${JSON.stringify(body.error)}`);
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('session_id='));
  if (!cookie) throw new Error('Odoo set no session cookie');
  return cookie.split(';')[0] ?? '';
}

async function callKw<T>(url: string, cookie: string, model: string, method: string, args: unknown[]): Promise<T> {
  const response = await fetch(`${url}/web/dataset/call_kw/${model}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { model, method, args, kwargs: {} } }),
  });
  const body = (await response.json()) as { result?: T; error?: { data?: { message?: string } } };
  if (body.error) throw new Error(`${model}.${method}: ${body.error.data?.message ?? JSON.stringify(body.error)}`);
  return body.result as T;
}

describe.skipIf(!source)('real Odoo 17: offsite copies, periodic verification, restore from the bucket', () => {
  const namespace = testNamespace();
  let t: TestApp;
  let admin: Browser;
  let baseUrl: string;
  let headers: Record<string, string>;
  let s3: S3TestServer;
  let production: InstanceView;
  let credentials: { login: string; password: string };
  let destinationId: string;
  let backupId: string;
  const timings: Record<string, number> = {};
  const numbers: Record<string, number | string> = {};

  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => as(t, admin)(method, url, payload);

  /** Moves the test's clock; a session idle for hours has expired, so the admin signs in again. */
  async function advance(minutes: number): Promise<void> {
    t.clock.advanceMinutes(minutes);
    admin = await signIn(t.app, 'admin@example.com');
    headers = { cookie: admin.cookie, 'x-marina-csrf': admin.csrf };
  }

  async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    // As the tenant's own role, as the tenant would: backups read the database as that role.
    const connection = await t.services.databaseServers.forInstance(await t.services.instances.row(production.id));
    return withClient(connection, production.dbName, async (c) => (await c.query<T>(text, values)).rows);
  }

  async function getBackup(id: string): Promise<BackupView> {
    const response = await call('GET', `/api/v1/backups/${id}`);
    expect(response.statusCode, response.body).toBe(200);
    return response.json().backup;
  }

  /** Follows a job to its end; a job that did not succeed prints its log and Odoo's. */
  async function succeeded(jobId: string, timeoutMs = 240_000) {
    const followed = await followJob(baseUrl, headers, jobId, timeoutMs);
    if (followed.job.status !== 'succeeded') {
      console.log(`job ${jobId} ended ${followed.job.status}:\n${followed.logs.slice(-40).join('\n')}`);
      for (const c of await docker.listContainers({
        all: true,
        filters: { label: [`io.marina.namespace=${namespace}`] },
      })) {
        if (!c.Names.some((n) => n.includes('-odoo-'))) continue;
        const tail = (await docker.getContainer(c.Id).logs({ stdout: true, stderr: true, tail: 40 })).toString();
        console.log(`--- ${c.Names[0]} (${c.State}):\n${tail}`);
      }
    }
    expect(followed.job.error, followed.logs.join('\n')).toBeNull();
    expect(followed.job.status).toBe('succeeded');
    return followed;
  }

  async function verifyJobs(): Promise<JobView[]> {
    const response = await call('GET', '/api/v1/jobs?kind=backup.verify&limit=200');
    expect(response.statusCode, response.body).toBe(200);
    return response.json().jobs;
  }

  beforeAll(async () => {
    await requireDocker();
    await docker.getImage(TEST_IMAGES.runtime).inspect();
    s3 = await startS3Server();
    ({ t, admin, baseUrl, headers } = await startDockerMarina(
      namespace,
      {
        MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime,
        MARINA_ODOO_17_SOURCE: source ?? '',
        // The test drives the scheduler with its own clock; the timer must not fire in between.
        MARINA_SCHEDULER_INTERVAL_S: '3600',
      },
      { clockStart: SCHEDULE_CALENDAR_START },
    ));
    // s3rver listens on loopback, an internal range only a platform admin can allow.
    expect((await call('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] })).statusCode).toBe(200);
    const started = Date.now();
    const project = (
      await call('POST', '/api/v1/projects', { organization: 'acme', name: 'erp', odooVersion: '17.0' })
    ).json().project;
    const created = await call('POST', '/api/v1/instances', {
      project: project.id,
      name: 'prod',
      stage: 'production',
      cpus: 1,
      memoryMb: 1024,
      adminLogin: 'owner@acme.test',
    });
    expect(created.statusCode, created.body).toBe(202);
    await succeeded(created.json().job.id);
    production = (await call('GET', `/api/v1/instances/${created.json().instance.id}`)).json().instance;
    credentials = created.json().credentials;
    timings.provision = Date.now() - started;
  }, 300_000);

  afterAll(async () => {
    console.log(`real Odoo 17 offsite timings (ms): ${JSON.stringify(timings)}`);
    console.log(`real Odoo 17 offsite numbers: ${JSON.stringify(numbers)}`);
    await t?.close();
    await removeNamespace(namespace);
    await s3?.stop();
  });

  it("runs the schedule: Odoo's zip format, copied encrypted to S3 and read back before it counts", {
    timeout: 300_000,
  }, async () => {
    const acme = (await call('GET', '/api/v1/organizations/acme')).json().organization;
    const made = await call('POST', '/api/v1/destinations', {
      organizationId: acme.id,
      name: 'bucket',
      kind: 's3',
      s3: {
        endpoint: s3.endpoint,
        region: s3.region,
        bucket: s3.bucket,
        prefix: PREFIX,
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
      encryption: { passphrase: PASSPHRASE },
    });
    expect(made.statusCode, made.body).toBe(201);
    expect(made.json().destination).toMatchObject({ kind: 's3', encrypted: true });
    destinationId = made.json().destination.id;
    const probe = await call('POST', `/api/v1/destinations/${destinationId}/test`);
    expect(probe.json(), probe.body).toMatchObject({ ok: true, error: null });

    const set = await call('PUT', `/api/v1/instances/${production.id}/schedule`, {
      spec: { kind: 'daily', time: '02:00', timeZone: 'Europe/Brussels' },
      kind: 'full',
      format: 'zip',
      destinationIds: [destinationId],
      verifyEveryDays: 7,
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json().schedule).toMatchObject({
      enabled: true,
      kind: 'full',
      format: 'zip',
      destinationIds: [destinationId],
      verifyEveryDays: 7,
      lastVerifiedAt: null,
    });
    // The test clock starts at 2026-11-21 09:00 UTC; 02:00 in Brussels (UTC+1 in winter) is 01:00 UTC.
    expect(set.json().schedule.nextRunAt).toBe('2026-11-22T01:00:00.000Z');
    // Not due yet, and nothing to verify yet.
    expect(await t.services.schedules.tick()).toEqual([]);
    expect(await verifyJobs()).toEqual([]);

    await advance(16 * 60 + 1); // 2026-11-22 01:01 UTC
    const started = Date.now();
    const run = await t.services.schedules.tick();
    expect(run.map((o) => o.outcome)).toEqual(['started']);
    expect(run[0]?.instanceId).toBe(production.id);
    // The run's backup is not completed yet, and there is no older one: nothing to test-restore yet.
    expect(await verifyJobs()).toEqual([]);
    const { job, logs } = await succeeded(run[0]?.jobId as string);
    timings.scheduledBackup = Date.now() - started;
    expect(job.steps.map((s) => s.name)).toEqual(['prepare', 'write', 'finish', 'upload', 'retention']);
    expect(logs.some((l) => l.startsWith('Copied to bucket and verified'))).toBe(true);

    const runs = (await call('GET', `/api/v1/backup-runs?instanceId=${production.id}&trigger=schedule`)).json().runs;
    expect(runs.length).toBe(1);
    backupId = runs[0].id;
    const backup = await getBackup(backupId);
    expect(backup).toMatchObject({
      kind: 'full',
      format: 'zip',
      trigger: 'schedule',
      status: 'completed',
      localStatus: 'present',
      verification: null,
    });
    expect(backup.copies).toHaveLength(1);
    expect(backup.copies[0]).toMatchObject({ destinationId, status: 'verified', encrypted: true, attempts: 1 });
    numbers.backupBytes = backup.sizeBytes;
    numbers.copyBytes = backup.copies[0]?.sizeBytes ?? 'none';

    // Locally: Odoo's own zip (dump.sql, manifest.json, filestore/), as its database manager makes it.
    const local = await readFile(join(t.config.backups.dir, production.id, `${backupId}.zip`));
    expect(local.length).toBe(backup.sizeBytes);
    expect(createHash('sha256').update(local).digest('hex')).toBe(backup.sha256);
    expect(local.subarray(0, 4).toString('binary')).toBe('PK\u0003\u0004');
    expect(local.includes(Buffer.from('dump.sql'))).toBe(true);
    expect(local.includes(Buffer.from('manifest.json'))).toBe(true);

    // In the bucket: only ciphertext, under the destination's prefix.
    const key = `${PREFIX}/${production.id}/${backupId}.zip.enc`;
    expect(await s3.list(PREFIX)).toEqual([key]);
    const object = await s3.read(key);
    numbers.objectBytes = object.length;
    expect(object.length).toBe(backup.copies[0]?.sizeBytes);
    expect(object.subarray(0, 8).toString()).toBe('MARINAE1');
    expect(object.length).toBeGreaterThan(local.length);
    expect(object.includes(Buffer.from('dump.sql'))).toBe(false);
    expect(object.includes(local.subarray(0, 4096))).toBe(false);

    const schedule = (await call('GET', `/api/v1/instances/${production.id}/schedule`)).json().schedule;
    expect(schedule.nextRunAt).toBe('2026-11-23T01:00:00.000Z');
    expect(schedule.lastJobId).toBe(run[0]?.jobId);
  });

  it('test-restores the latest backup every 7 days, counting the modules Odoo has installed', {
    timeout: 300_000,
  }, async () => {
    // The next tick: no backup due, but the test restore is, of the backup just made.
    expect(await t.services.schedules.tick()).toEqual([]);
    const queued = await verifyJobs();
    expect(queued).toHaveLength(1);
    const verify = queued[0] as JobView & { target: { type: string; id: string } | null };
    expect(verify.target).toMatchObject({ type: 'backup', id: backupId });
    const started = Date.now();
    const { job, logs } = await succeeded(verify.id);
    timings.verification = Date.now() - started;
    expect(job.steps.map((s) => s.name)).toEqual(['fetch', 'load', 'check', 'cleanup']);

    const installed = await sql<{ n: number }>(
      "select count(*)::int as n from ir_module_module where state = 'installed'",
    );
    const modules = installed[0]?.n ?? 0;
    numbers.modulesInstalled = modules;
    // Odoo's own module registry: at least base and web (how many more depends on the source tree's addons).
    const names = await sql<{ name: string }>("select name from ir_module_module where state = 'installed'");
    expect(names.map((m) => m.name)).toEqual(expect.arrayContaining(['base', 'web']));
    expect(modules).toBe(names.length);
    const backup = await getBackup(backupId);
    expect(backup.verification).toMatchObject({ status: 'passed', modules, error: null });
    numbers.verificationMs = backup.verification?.durationMs ?? -1;
    expect(logs).toContain(`The backup restores: ${modules} installed modules.`);
    const schedule = (await call('GET', `/api/v1/instances/${production.id}/schedule`)).json().schedule;
    expect(schedule.lastVerifiedAt).toBe(t.clock.now().toISOString());
    // The throwaway database is gone.
    const leftovers = await sql<{ datname: string }>('select datname from pg_database where datname = $1', [
      `${production.dbName}_verify`,
    ]);
    expect(leftovers).toEqual([]);

    // Once per period: the next tick queues nothing more.
    expect(await t.services.schedules.tick()).toEqual([]);
    expect(await verifyJobs()).toHaveLength(1);
  });

  it('restores from the bucket when the local file is gone: decrypted, loaded, and Odoo serves it', {
    timeout: 300_000,
  }, async () => {
    const backup = await getBackup(backupId);
    const path = join(t.config.backups.dir, production.id, `${backupId}.zip`);
    await t.db.updateTable('backups').set({ local_status: 'deleted' }).where('id', '=', backupId).execute();
    await rm(path);
    expect((await getBackup(backupId)).localStatus).toBe('deleted');

    // A change after the backup, made through Odoo itself (so its cache holds it too).
    const session = await odooSession(production.url, production.dbName, credentials.login, credentials.password);
    await callKw(production.url, session, 'ir.config_parameter', 'set_param', [MARKER, 'after the backup']);
    expect(await callKw(production.url, session, 'ir.config_parameter', 'get_param', [MARKER])).toBe(
      'after the backup',
    );
    expect(await sql(`select value from ir_config_parameter where key = $1`, [MARKER])).toEqual([
      { value: 'after the backup' },
    ]);

    const objectGets = () => s3.requests.filter((r) => r.startsWith('GET ') && r.includes(`${backupId}.zip.enc`));
    const getsBefore = objectGets().length;
    const started = Date.now();
    const restore = await call('POST', `/api/v1/backups/${backupId}/restore`, { confirm: production.name });
    expect(restore.statusCode, restore.body).toBe(202);
    const { job, logs } = await succeeded(restore.json().job.id);
    timings.restoreFromBucket = Date.now() - started;
    expect(job.steps.map((s) => s.name)).toEqual(['verify', 'load', 'stop', 'swap', 'start', 'health', 'cleanup']);
    expect(logs).toContain('The local file is gone: fetching the backup from its offsite copy.');
    expect(logs).toContain(`The backup file verifies (sha256 ${backup.sha256}).`);
    // The object was read from the bucket, and what came back decrypts to the backup's very bytes.
    expect(objectGets().length).toBeGreaterThan(getsBefore);
    expect(existsSync(path)).toBe(true);
    expect(
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    ).toBe(backup.sha256);
    expect((await getBackup(backupId)).localStatus).toBe('present');

    // Odoo answers after the restore.
    const health = await fetch(`${production.url}/web/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'pass' });
    const loginPage = await fetch(`${production.url}/web/login`, { redirect: 'manual' });
    expect(loginPage.status).toBe(200);
    expect(await loginPage.text()).toContain('oe_login_form');

    // The change is gone, in the database and as Odoo itself tells it.
    expect(await sql(`select value from ir_config_parameter where key = $1`, [MARKER])).toEqual([]);
    const login = await rpcLogin(production.url, production.dbName, credentials.login, credentials.password);
    expect(login.error).toBeUndefined();
    expect(login.result?.uid).toBe(2);
    const after = await odooSession(production.url, production.dbName, credentials.login, credentials.password);
    expect(await callKw(production.url, after, 'ir.config_parameter', 'get_param', [MARKER])).toBe(false);
    // The restored database still has every module the verification counted.
    const installed = await sql<{ n: number }>(
      "select count(*)::int as n from ir_module_module where state = 'installed'",
    );
    expect(installed[0]?.n).toBe(numbers.modulesInstalled);
  });
});
