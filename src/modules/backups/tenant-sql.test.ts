import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { as, type Browser, type TestApp } from '../../../test/helpers/app.js';
import {
  docker,
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { withClient } from '../../adapters/postgres/admin.js';

/**
 * A hostile tenant's dump.sql (issue 13, §1): a trigger on ir_config_parameter and a schema named
 * after the superuser that shadows ir_module_module both run the tenant's function, which tries to
 * make its role superuser, write files on the server and read every other database through
 * `COPY … TO PROGRAM`; `ALTER DATABASE … SET search_path` puts the shadow first for every session.
 * Marina's restore, clone, backup, verification, module list and database info must all run it
 * with the tenant's own rights only. Against the Odoo STAND-IN (test/standin) and real PostgreSQL.
 */
const namespace = testNamespace();
const secret = `SECRET-${randomBytes(6).toString('hex')}`;
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let headers: Record<string, string>;
let victim: { id: string; dbName: string };
let acmeProject: string;

const HOSTILE = `
CREATE FUNCTION public.marina_pwn() RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE
  owner text := (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database());
BEGIN
  -- Once per session: enough to show what the session may do.
  IF current_setting('marina.pwn', true) = 'done' THEN RETURN true; END IF;
  PERFORM set_config('marina.pwn', 'done', false);
  RAISE WARNING 'marina-pwn-trace user=% session=% db=% app=% super=%', current_user, session_user, current_database(), current_setting('application_name'), (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
  BEGIN EXECUTE format('ALTER ROLE %I SUPERUSER', owner); EXCEPTION WHEN OTHERS THEN NULL; END;
  BEGIN EXECUTE format('ALTER ROLE %I SUPERUSER', current_user); EXCEPTION WHEN OTHERS THEN NULL; END;
  BEGIN COPY (SELECT 'pwned') TO '/tmp/marina-pwned-file'; EXCEPTION WHEN OTHERS THEN NULL; END;
  BEGIN
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
      'for d in $(timeout 5 psql -wXAt -d postgres -c "select datname from pg_database where datname like ''odoo%''"); do timeout 5 psql -wXAt -d "$d" -c "select name from res_partner" >> /tmp/marina-pwned-leak 2>&1; done');
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  RETURN true;
END
$f$;
CREATE FUNCTION public.marina_pwn_trigger() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.marina_pwn(); RETURN NEW; END
$f$;
CREATE TRIGGER marina_pwn BEFORE INSERT OR UPDATE ON public.ir_config_parameter
  FOR EACH ROW EXECUTE FUNCTION public.marina_pwn_trigger();
CREATE SCHEMA postgres;
CREATE VIEW postgres.ir_module_module AS SELECT * FROM public.ir_module_module WHERE public.marina_pwn();
CREATE VIEW postgres.ir_attachment AS SELECT * FROM public.ir_attachment WHERE public.marina_pwn();
DO $d$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = postgres, public', current_database()); END $d$;
`;

async function sql<T extends pg.QueryResultRow>(db: string, text: string, values: unknown[] = []): Promise<T[]> {
  const server = await t.services.databaseServers.forInstances('local');
  const connection = await t.services.databaseServers.connection(server);
  return withClient(connection, db, async (c) => (await c.query<T>(text, values)).rows);
}

function zipEntries(buffer: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const entries = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(entries));
      zip.readEntry();
    });
  });
}

function makeZip(files: Record<string, Buffer | string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function upload(query: string, body: Buffer) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/imports?${query}`,
    headers: { cookie: admin.cookie, 'x-marina-csrf': admin.csrf, 'content-type': 'application/zip' },
    payload: body,
  });
}

async function succeeds(response: { statusCode: number; json: () => { job: { id: string } } }, what: string) {
  expect(response.statusCode, what).toBe(202);
  const { job } = await followJob(baseUrl, headers, response.json().job.id, 240_000);
  expect(job.error, what).toBeNull();
  return job;
}

/** Files in the database server's /tmp, and the content of those the attack would write. */
async function serverTmp(): Promise<string> {
  const server = await t.services.databaseServers.forInstances('local');
  const container = docker.getContainer(server.container_name ?? '');
  const exec = await container.exec({
    Cmd: ['sh', '-c', 'ls -a /tmp; cat /tmp/marina-pwned* 2>/dev/null; true'],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({});
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  docker.modem.demuxStream(stream, out, out);
  await new Promise((resolve) => stream.on('end', resolve));
  return text;
}

let zipBase: { manifest: Buffer; dump: string };

beforeAll(async () => {
  await requireDocker();
  // A port range of its own: other test runs on this machine use the per-worker ranges.
  const ports = 30000 + Math.floor(Math.random() * 90) * 100;
  ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_INSTANCE_PORTS: `${ports}-${ports + 99}`,
  }));
  // The other tenant: an organization of its own, with one instance.
  await as(t, admin)('POST', '/api/v1/organizations', { slug: 'other', name: 'Other' });
  const other = await as(t, admin)('POST', '/api/v1/projects', {
    organization: 'other',
    name: 'books',
    odooVersion: '17.0',
  });
  const created = await as(t, admin)('POST', '/api/v1/instances', {
    project: other.json().project.id,
    name: 'main',
    stage: 'staging',
    memoryMb: 768,
    adminLogin: 'o@other.test',
  });
  await succeeds(created, 'provisioning the other tenant');
  victim = (await as(t, admin)('GET', `/api/v1/instances/${created.json().instance.id}`)).json().instance;
  // Its zip backup is the raw material of the hostile dump (taken before the secret goes in).
  const backup = await as(t, admin)('POST', `/api/v1/instances/${victim.id}/backups`, {
    kind: 'database',
    format: 'zip',
  });
  await succeeds(backup, 'the raw backup');
  const download = await as(t, admin)('GET', `/api/v1/backups/${backup.json().backup.id}/download`);
  const entries = await zipEntries(download.rawPayload);
  zipBase = { manifest: entries.get('manifest.json') as Buffer, dump: entries.get('dump.sql')?.toString() ?? '' };
  await sql(victim.dbName, 'update res_partner set name = $1', [secret]);
  const { instance } = await provisionInstance({ t, admin, baseUrl, headers }, { project: 'erp', name: 'seed' });
  acmeProject = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}`)).json().instance.projectId;
}, 400_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

describe('tenant SQL runs with the tenant role only', () => {
  it('refuses a dump.sql with psql meta-commands in the request, before anything is loaded', async () => {
    const before = (await as(t, admin)('GET', '/api/v1/instances')).json().instances.length;
    const dump = `${zipBase.dump}\n\\! touch /tmp/marina-pwned-shell\n`;
    const refused = await upload(
      `project=${acmeProject}&name=shell&stage=staging&adminLogin=dev%40acme.test`,
      await makeZip({ 'manifest.json': zipBase.manifest, 'dump.sql': dump }),
    );
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.code).toBe('MARINA_E_ARCHIVE_INVALID');
    expect(refused.json().error.message).toMatch(/\\!/);
    expect((await as(t, admin)('GET', '/api/v1/instances')).json().instances.length).toBe(before);
    expect(await serverTmp()).not.toMatch(/marina-pwned/);
  });

  it('imports, restores, clones, backs up, verifies, lists modules and reads database info of a hostile dump', async () => {
    const hostile = await makeZip({ 'manifest.json': zipBase.manifest, 'dump.sql': `${zipBase.dump}\n${HOSTILE}` });
    const imported = await upload(`project=${acmeProject}&name=evil&stage=staging&adminLogin=dev%40acme.test`, hostile);
    await succeeds(imported, 'import');
    const evil = imported.json().instance as { id: string; dbName: string };
    // psql loaded it from a network with no route out that holds the database server alone.
    const load = await docker.getNetwork(`${namespace}-dbload`).inspect();
    expect(load.Internal).toBe(true);
    const server = await t.services.databaseServers.forInstances('local');
    expect(Object.values(load.Containers ?? {}).map((c) => (c as { Name: string }).Name)).toEqual([
      server.container_name,
    ]);
    // The planted objects are there (what follows runs against them).
    expect(await sql(evil.dbName, "select 1 from pg_trigger where tgname = 'marina_pwn'")).toHaveLength(1);
    expect(await sql(evil.dbName, "select 1 from pg_namespace where nspname = 'postgres'")).toHaveLength(1);

    const backup = await as(t, admin)('POST', `/api/v1/instances/${evil.id}/backups`, { kind: 'full', format: 'zip' });
    await succeeds(backup, 'zip backup');
    const native = await as(t, admin)('POST', `/api/v1/instances/${evil.id}/backups`, {
      kind: 'full',
      format: 'native',
    });
    await succeeds(native, 'native backup');
    await succeeds(
      await as(t, admin)('POST', `/api/v1/backups/${backup.json().backup.id}/restore`, {}),
      'restore of the zip',
    );
    await succeeds(
      await as(t, admin)('POST', `/api/v1/backups/${native.json().backup.id}/restore`, {}),
      'restore of the native backup',
    );
    const clone = await as(t, admin)('POST', `/api/v1/instances/${evil.id}/clone`, {
      newInstance: { project: acmeProject, name: 'staging', stage: 'staging', adminLogin: 'dev@acme.test' },
    });
    await succeeds(clone, 'clone');
    await succeeds(
      await as(t, admin)('POST', `/api/v1/backups/${backup.json().backup.id}/verify`, {}),
      'verification of the zip',
    );
    await succeeds(
      await as(t, admin)('POST', `/api/v1/backups/${native.json().backup.id}/verify`, {}),
      'verification of the native backup',
    );
    const modules = await as(t, admin)('GET', `/api/v1/instances/${evil.id}/modules`);
    expect(modules.statusCode).toBe(200);
    expect(modules.json().modules.some((m: { name: string }) => m.name === 'base')).toBe(true);
    const database = await as(t, admin)('GET', `/api/v1/instances/${evil.id}/database`);
    expect(database.statusCode).toBe(200);
    expect(database.json().database.sizeBytes).toBeGreaterThan(0);

    // Loaded databases belong to the tenant's role, object by object.
    const staging = clone.json().instance as { dbName: string };
    for (const db of [evil.dbName, staging.dbName]) {
      const foreign = await sql<{ relname: string }>(
        db,
        `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and c.relowner <> (select datdba from pg_database where datname = current_database())`,
      );
      expect(foreign, db).toEqual([]);
    }
    // The attack ran each time, with the tenant's rights only.
    const roles = await sql<{ rolname: string; rolsuper: boolean }>(
      'postgres',
      "select rolname, rolsuper from pg_roles where rolname like 'odoo%' order by 1",
    );
    expect(roles.length).toBeGreaterThanOrEqual(3);
    // The server's log says who ran the planted function each time: never a superuser.
    const dbServer = await t.services.databaseServers.forInstances('local');
    const log = (await docker.getContainer(dbServer.container_name ?? '').logs({ stdout: true, stderr: true }))
      .toString()
      .split('\n')
      .filter((line) => line.includes('marina-pwn-trace'));
    expect(log.length).toBeGreaterThan(0);
    expect(log.filter((line) => line.includes('super=t'))).toEqual([]);
    expect(roles.filter((r) => r.rolsuper)).toEqual([]);
    const tmp = await serverTmp();
    expect(tmp).not.toMatch(/marina-pwned/);
    expect(tmp).not.toContain(secret);
  }, 1_500_000);
});
