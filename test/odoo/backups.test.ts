import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downtimeMs, pollLive } from '../../bench/live-poll.js';
import { databaseExists, roleExists, type ServerConnection, withClient } from '../../src/adapters/postgres/admin.js';
import { as, type Browser, type TestApp } from '../helpers/app.js';
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
import { callKw, execIn, odooSession, partnerName, waitForOdoo } from './odoo-session.js';

/**
 * Backups, restores, clones and imports through Marina's API against REAL Odoo 17 (ODOO_SOURCE):
 * Marina's zip is restored by Odoo's own database manager, a zip made by Odoo's database manager
 * is imported by Marina, a native backup brings an instance back, and a clone is neutralized
 * while production keeps its connections. src/modules/backups/backups-*.test.ts run the same flows on the stand-in.
 */
const source = odooSource();
const fixtureZip = join(
  process.env.MARINA_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures'),
  'odoo-backups',
  'odoo17-database-manager.zip',
);
const hasFixture = existsSync(fixtureZip);
if (source && !hasFixture) {
  console.warn(
    `\n*** ${fixtureZip} is absent (set MARINA_FIXTURES): the real-Odoo import of a database-manager zip is SKIPPED. ***\n`,
  );
}

type InstanceView = { id: string; url: string; dbName: string; name: string; stage: string; projectId: string };

describe.skipIf(!source)('real Odoo 17: backups, restores, clones and imports', () => {
  const namespace = testNamespace();
  let t: TestApp;
  let admin: Browser;
  let baseUrl: string;
  let headers: Record<string, string>;
  let production: InstanceView;
  let credentials: { login: string; password: string };
  let projectId: string;
  const timings: Record<string, number> = {};

  async function superuser(): Promise<ServerConnection> {
    const server = await t.services.databaseServers.forInstances('local');
    return t.services.databaseServers.connection(server);
  }

  async function sql<T extends pg.QueryResultRow>(db: string, text: string, values: unknown[] = []): Promise<T[]> {
    return withClient(await superuser(), db, async (c) => (await c.query<T>(text, values)).rows);
  }

  async function param(db: string, key: string): Promise<string | undefined> {
    return (await sql<{ value: string }>(db, 'select value from ir_config_parameter where key = $1', [key]))[0]?.value;
  }

  async function jobOf(jobId: string, timeoutMs: number) {
    const followed = await followJob(baseUrl, headers, jobId, timeoutMs);
    if (followed.job.status !== 'succeeded') {
      // What Marina logged, and what Odoo said, explain a failed job better than its error alone.
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
    return followed;
  }

  async function backup(format: 'zip' | 'native') {
    const created = await as(t, admin)('POST', `/api/v1/instances/${production.id}/backups`, { kind: 'full', format });
    expect(created.statusCode).toBe(202);
    const { job } = await jobOf(created.json().job.id, 180_000);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    return (await as(t, admin)('GET', `/api/v1/backups/${created.json().backup.id}`)).json().backup as {
      id: string;
      sha256: string;
      sizeBytes: number;
      status: string;
    };
  }

  beforeAll(async () => {
    await requireDocker();
    await docker.getImage(TEST_IMAGES.runtime).inspect();
    ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime,
      MARINA_ODOO_17_SOURCE: source ?? '',
    }));
    const started = Date.now();
    const project = (
      await as(t, admin)('POST', '/api/v1/projects', { organization: 'acme', name: 'erp', odooVersion: '17.0' })
    ).json().project;
    projectId = project.id;
    const created = await as(t, admin)('POST', '/api/v1/instances', {
      project: project.id,
      name: 'prod',
      stage: 'production',
      cpus: 1,
      memoryMb: 1024,
      adminLogin: 'owner@acme.test',
    });
    expect(created.statusCode).toBe(202);
    const { job } = await jobOf(created.json().job.id, 240_000);
    if (job.status !== 'succeeded') throw new Error(`provisioning failed: ${JSON.stringify(job.error)}`);
    production = (await as(t, admin)('GET', `/api/v1/instances/${created.json().instance.id}`)).json().instance;
    credentials = created.json().credentials;
    timings.provision = Date.now() - started;
  }, 300_000);

  afterAll(async () => {
    console.log(`real Odoo 17 backup timings (ms): ${JSON.stringify(timings)}`);
    await t?.close();
    await removeNamespace(namespace);
  });

  it("restores Marina's zip backup through Odoo's own database manager, and the customer logs in there", {
    timeout: 300_000,
  }, async () => {
    // An attachment with known content, so the filestore's round trip is checked, not assumed.
    const content = `marina zip round trip ${randomBytes(8).toString('hex')}`;
    const session = await odooSession(production.url, production.dbName, credentials.login, credentials.password);
    const attachmentId = await callKw<number>(production.url, session, 'ir.attachment', 'create', [
      { name: 'round-trip.txt', datas: Buffer.from(content).toString('base64'), mimetype: 'text/plain' },
    ]);
    const stored = await sql<{ store_fname: string | null }>(
      production.dbName,
      'select store_fname from ir_attachment where id = $1',
      [attachmentId],
    );
    expect(stored[0]?.store_fname).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{40}$/);

    let started = Date.now();
    const zipBackup = await backup('zip');
    timings.zipBackup = Date.now() - started;
    const download = await fetch(`${baseUrl}/api/v1/backups/${zipBackup.id}/download`, { headers });
    expect(download.status).toBe(200);
    const zip = Buffer.from(await download.arrayBuffer());
    expect(zip.length).toBe(zipBackup.sizeBytes);
    expect(createHash('sha256').update(zip).digest('hex')).toBe(zipBackup.sha256);

    // A separate Odoo 17 with the database manager on, as an Odoo administrator would run one.
    const connection = await superuser();
    const role = 'odoo_dbm';
    const rolePassword = randomBytes(24).toString('base64url');
    const masterPassword = randomBytes(24).toString('base64url');
    const restoredDb = `dbm_${randomBytes(4).toString('hex')}`;
    const confDir = await mkdtemp(join(tmpdir(), 'marina-dbm-'));
    let containerId: string | undefined;
    try {
      await withClient(connection, 'postgres', (c) =>
        c.query(`CREATE ROLE ${role} SUPERUSER LOGIN PASSWORD '${rolePassword}'`),
      );
      const confPath = join(confDir, 'odoo.conf');
      await writeFile(
        confPath,
        [
          '[options]',
          `db_host = ${namespace}-postgres`,
          'db_port = 5432',
          `db_user = ${role}`,
          `db_password = ${rolePassword}`,
          'list_db = True',
          `admin_passwd = ${masterPassword}`,
          'data_dir = /var/lib/odoo',
          '; Odoo adds its own odoo/addons; the source tree brings addons/ (web).',
          'addons_path = /opt/odoo/addons',
          'http_port = 8069',
          'workers = 0',
          'max_cron_threads = 0',
          'without_demo = all',
          '',
        ].join('\n'),
      );
      await chmod(confPath, 0o644);
      const container = await docker.createContainer({
        name: `${namespace}-dbmanager`,
        Image: TEST_IMAGES.runtime,
        Cmd: ['odoo', '-c', '/etc/odoo/odoo.conf'],
        // Not Marina's labels: Marina must not see (or adopt) this container.
        Labels: { 'io.marina.test': namespace },
        ExposedPorts: { '8069/tcp': {} },
        HostConfig: {
          NetworkMode: namespace,
          PortBindings: { '8069/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
          Mounts: [
            { Type: 'bind', Source: source ?? '', Target: '/opt/odoo', ReadOnly: true },
            { Type: 'bind', Source: confPath, Target: '/etc/odoo/odoo.conf', ReadOnly: true },
          ],
        },
      });
      containerId = container.id;
      started = Date.now();
      await container.start();
      const port = (await container.inspect()).NetworkSettings.Ports['8069/tcp']?.[0]?.HostPort;
      expect(port).toBeTruthy();
      const dbmUrl = `http://127.0.0.1:${port}`;
      try {
        await waitForOdoo(dbmUrl, 90_000);
      } catch (error) {
        console.log((await container.logs({ stdout: true, stderr: true, tail: 100 })).toString());
        throw error;
      }
      timings.databaseManagerStart = Date.now() - started;

      const form = new FormData();
      form.set('master_pwd', masterPassword);
      form.set('name', restoredDb);
      form.set('copy', 'true');
      form.set('backup_file', new Blob([zip], { type: 'application/zip' }), `${production.dbName}.zip`);
      started = Date.now();
      const restored = await fetch(`${dbmUrl}/web/database/restore`, {
        method: 'POST',
        body: form,
        redirect: 'manual',
      });
      timings.odooDatabaseManagerRestore = Date.now() - started;
      // Odoo answers errors with 200 and an HTML page: only the redirect means it worked.
      if (restored.status !== 303) {
        const page = await restored.text();
        console.log(/Database restore error[^<]*/.exec(page)?.[0] ?? page.slice(0, 2000));
        console.log((await container.logs({ stdout: true, stderr: true, tail: 60 })).toString());
      }
      expect(restored.status).toBe(303);
      expect(restored.headers.get('location')).toMatch(/\/web\/database\/manager$/);

      const login = await rpcLogin(dbmUrl, restoredDb, credentials.login, credentials.password);
      expect(login.error).toBeUndefined();
      expect(login.result?.uid).toBe(2);
      // copy=true: Odoo gave the restored database its own identity.
      expect(await param(restoredDb, 'database.uuid')).not.toBe(await param(production.dbName, 'database.uuid'));
      // The filestore came along: Odoo serves the attachment's bytes from the restored files.
      const dbmSession = await odooSession(dbmUrl, restoredDb, credentials.login, credentials.password);
      const [read] = await callKw<{ datas: string }[]>(dbmUrl, dbmSession, 'ir.attachment', 'read', [
        [attachmentId],
        ['datas'],
      ]);
      expect(Buffer.from(read?.datas ?? '', 'base64').toString()).toBe(content);
      const onDisk = await execIn(containerId, [
        'cat',
        `/var/lib/odoo/filestore/${restoredDb}/${stored[0]?.store_fname}`,
      ]);
      expect(onDisk.trim()).toBe(content);
    } finally {
      if (containerId)
        await docker
          .getContainer(containerId)
          .remove({ force: true, v: true })
          .catch(() => undefined);
      await withClient(connection, 'postgres', async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${restoredDb} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${role}`);
      });
      await rm(confDir, { recursive: true, force: true });
    }
    expect(await databaseExists(connection, restoredDb)).toBe(false);
    expect(await roleExists(connection, role)).toBe(false);
  });

  it.skipIf(!hasFixture)(
    "imports the zip made by Odoo 17's database manager as a new instance that Odoo serves and a user logs in to",
    { timeout: 300_000 },
    async () => {
      const body = await readFile(fixtureZip);
      const started = Date.now();
      const imported = await fetch(
        `${baseUrl}/api/v1/imports?project=${projectId}&name=imported&stage=staging&adminLogin=dev%40acme.test`,
        { method: 'POST', headers: { ...headers, 'content-type': 'application/zip' }, body },
      );
      const answer = (await imported.json()) as {
        job: { id: string };
        instance: { id: string };
        backup: { trigger: string; format: string; status: string };
        error?: unknown;
      };
      expect(imported.status, JSON.stringify(answer.error)).toBe(202);
      expect(answer.backup).toMatchObject({ trigger: 'import', format: 'zip', status: 'completed' });
      const { job } = await jobOf(answer.job.id, 240_000);
      timings.importFixture = Date.now() - started;
      expect(job.error).toBeNull();
      expect(job.status).toBe('succeeded');
      const copy = (await as(t, admin)('GET', `/api/v1/instances/${answer.instance.id}`)).json()
        .instance as InstanceView;
      expect(await (await fetch(`${copy.url}/web/health`)).json()).toEqual({ status: 'pass' });
      // The fixture is a fresh database made by Odoo's database manager, with demo data: its users are
      // admin/admin (uid 2), demo/demo (uid 6) and portal/portal (uid 7), as Odoo's demo data makes them.
      const users = await sql<{ login: string }>(copy.dbName, 'select login from res_users where active order by id');
      expect(users.map((u) => u.login)).toEqual(['admin', 'demo', 'portal']);
      expect(await param(copy.dbName, 'web.base.url')).toBe(copy.url);
      expect(await param(copy.dbName, 'database.is_neutralized')).toMatch(/true/i);
      const login = await rpcLogin(copy.url, copy.dbName, 'admin', 'admin');
      expect(login.error).toBeUndefined();
      expect(login.result?.uid).toBe(2);
      expect((await rpcLogin(copy.url, copy.dbName, 'demo', 'demo')).result?.uid).toBe(6);
    },
  );

  it('restores a native backup over a changed instance: the change is gone, users still log in', {
    timeout: 300_000,
  }, async () => {
    let started = Date.now();
    const nativeBackup = await backup('native');
    timings.nativeBackup = Date.now() - started;
    const company = await sql<{ id: number; name: string }>(
      production.dbName,
      'select p.id, p.name from res_company c join res_partner p on p.id = c.partner_id order by c.id limit 1',
    );
    const original = company[0]?.name ?? '';
    expect(original).not.toBe('');
    await sql(production.dbName, "update res_partner set name = 'CHANGED AFTER BACKUP' where id = $1", [
      company[0]?.id,
    ]);
    await sql(production.dbName, "insert into ir_config_parameter (key, value) values ('marina.test.changed', 'yes')");
    const uuidBefore = await param(production.dbName, 'database.uuid');

    // A user keeps reading the company's name throughout: Odoo serves while the backup loads.
    const live = pollLive(partnerName(production, credentials, company[0]?.id ?? 0));
    started = Date.now();
    const restore = await as(t, admin)('POST', `/api/v1/backups/${nativeBackup.id}/restore`, {
      confirm: production.name,
    });
    expect(restore.statusCode, restore.body).toBe(202);
    const { job } = await jobOf(restore.json().job.id, 240_000);
    const finished = Date.now();
    timings.nativeRestore = finished - started;
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.steps.map((s) => s.name)).toEqual(['verify', 'load', 'stop', 'swap', 'start', 'health', 'cleanup']);
    await waitForOdoo(production.url, 60_000);
    // The last answer must be one asked after the job, not the last before Odoo went down.
    await live.answeredAfter(finished, 60_000);
    const answers = await live.stop();
    timings.restoreDowntime = downtimeMs(answers);
    const served = answers.flatMap((a) => (a.value === undefined ? [] : [a.value]));
    expect(served[0]).toBe('CHANGED AFTER BACKUP');
    expect(served.at(-1)).toBe(original);
    // Once the restored data answered, the old data never did again.
    expect(served.slice(served.indexOf(original))).not.toContain('CHANGED AFTER BACKUP');

    const names = await sql<{ name: string }>(production.dbName, 'select name from res_partner where id = $1', [
      company[0]?.id,
    ]);
    expect(names[0]?.name).toBe(original);
    expect(await param(production.dbName, 'marina.test.changed')).toBeUndefined();
    // Its own backup brings the same database back: same identity, not a copy.
    expect(await param(production.dbName, 'database.uuid')).toBe(uuidBefore);
    expect(await param(production.dbName, 'database.is_neutralized')).toBeUndefined();
    expect(await (await fetch(`${production.url}/web/health`)).json()).toEqual({ status: 'pass' });
    const login = await rpcLogin(production.url, production.dbName, credentials.login, credentials.password);
    expect(login.error).toBeUndefined();
    expect(login.result?.uid).toBe(2);
    // Odoo itself serves the restored data.
    const session = await odooSession(production.url, production.dbName, credentials.login, credentials.password);
    const [read] = await callKw<{ name: string }[]>(production.url, session, 'res.partner', 'read', [
      [company[0]?.id],
      ['name'],
    ]);
    expect(read?.name).toBe(original);

    // The undo swaps the replaced data back: the change is there again, and users log in.
    const undo = await as(t, admin)('POST', `/api/v1/instances/${production.id}/undo-restore`, {
      confirm: production.name,
    });
    expect(undo.statusCode, undo.body).toBe(202);
    const undone = await jobOf(undo.json().job.id, 240_000);
    expect(undone.job.error).toBeNull();
    expect(await param(production.dbName, 'marina.test.changed')).toBe('yes');
    expect(await partnerName(production, credentials, company[0]?.id ?? 0)()).toBe('CHANGED AFTER BACKUP');
  });

  it('clones production into a new staging instance, neutralized, while production keeps its connection', {
    timeout: 300_000,
  }, async () => {
    // Odoo 17's ir_mail_server: every NOT NULL column without a default is given here.
    const columns = ['name', 'smtp_host', 'smtp_port', 'smtp_authentication', 'smtp_encryption', 'sequence', 'active'];
    const required = await sql<{ column_name: string }>(
      production.dbName,
      `select column_name from information_schema.columns
        where table_name = 'ir_mail_server' and is_nullable = 'NO' and column_default is null`,
    );
    expect(required.map((r) => r.column_name).filter((c) => !columns.includes(c))).toEqual([]);
    await sql(
      production.dbName,
      `insert into ir_mail_server (${columns.join(', ')}, create_uid, write_uid, create_date, write_date)
       values ('real', 'smtp.acme.test', 587, 'login', 'starttls', 10, true, 1, 1, now() at time zone 'utc', now() at time zone 'utc')`,
    );
    const activeCrons = await sql<{ n: number }>(
      production.dbName,
      'select count(*)::int as n from ir_cron where active',
    );
    // Something for neutralization to switch off: base's crons besides the autovacuum.
    expect(activeCrons[0]?.n).toBeGreaterThan(1);

    // An attachment to find in the copy: the clone's filestore is checked through Odoo, not assumed.
    const content = `marina clone ${randomBytes(8).toString('hex')}`;
    const session = await odooSession(production.url, production.dbName, credentials.login, credentials.password);
    const attachmentId = await callKw<number>(production.url, session, 'ir.attachment', 'create', [
      { name: 'cloned.txt', datas: Buffer.from(content).toString('base64'), mimetype: 'text/plain' },
    ]);

    const held = new pg.Client({ ...(await superuser()), database: production.dbName });
    await held.connect();
    try {
      await held.query('select 1');
      const started = Date.now();
      const clone = await as(t, admin)('POST', `/api/v1/instances/${production.id}/clone`, {
        newInstance: { project: projectId, name: 'staging', stage: 'staging', adminLogin: 'dev@acme.test' },
      });
      expect(clone.statusCode, clone.body).toBe(202);
      const { job } = await jobOf(clone.json().job.id, 240_000);
      timings.clone = Date.now() - started;
      expect(job.error).toBeNull();
      expect(job.status).toBe('succeeded');
      expect(job.steps.map((s) => s.name)).toContain('neutralize');
      // Production's session was never cut.
      expect((await held.query<{ alive: number }>('select 1 as alive')).rows[0]?.alive).toBe(1);

      const staging = (await as(t, admin)('GET', `/api/v1/instances/${clone.json().instance.id}`)).json()
        .instance as InstanceView & { clonedFromId: string };
      expect(staging.clonedFromId).toBe(production.id);
      const mail = await sql<{ n: number }>(
        staging.dbName,
        'select count(*)::int as n from ir_mail_server where active',
      );
      expect(mail[0]?.n).toBe(0);
      const crons = await sql<{ name: string | null }>(
        staging.dbName,
        `select d.name from ir_cron c
           left join ir_model_data d on d.model = 'ir.cron' and d.res_id = c.id and d.module = 'base'
          where c.active`,
      );
      expect(crons.map((c) => c.name)).toEqual(['autovacuum_job']);
      expect(await param(staging.dbName, 'database.is_neutralized')).toMatch(/^(true|t|1)$/i);
      expect(await param(staging.dbName, 'database.uuid')).not.toBe(await param(production.dbName, 'database.uuid'));
      // Read before anyone logs in: Odoo rewrites web.base.url on an administrator's login.
      expect(await param(staging.dbName, 'web.base.url')).toBe(staging.url);

      // Production keeps its real mail server, its crons and its session.
      const sourceMail = await sql<{ active: boolean }>(
        production.dbName,
        "select active from ir_mail_server where name = 'real'",
      );
      expect(sourceMail).toEqual([{ active: true }]);
      expect((await held.query<{ alive: number }>('select 1 as alive')).rows[0]?.alive).toBe(1);
      expect(await param(production.dbName, 'database.is_neutralized')).toBeUndefined();

      expect(await (await fetch(`${staging.url}/web/health`)).json()).toEqual({ status: 'pass' });
      const login = await rpcLogin(staging.url, staging.dbName, credentials.login, credentials.password);
      expect(login.error).toBeUndefined();
      expect(login.result?.uid).toBe(2);
      const copySession = await odooSession(staging.url, staging.dbName, credentials.login, credentials.password);
      const [read] = await callKw<{ datas: string }[]>(staging.url, copySession, 'ir.attachment', 'read', [
        [attachmentId],
        ['datas'],
      ]);
      expect(Buffer.from(read?.datas ?? '', 'base64').toString()).toBe(content);
      const prodLogin = await rpcLogin(production.url, production.dbName, credentials.login, credentials.password);
      expect(prodLogin.result?.uid).toBe(2);
    } finally {
      await held.end();
    }
  });
});
