import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseExists, withClient, withSuperuser } from '../src/adapters/postgres/admin.js';
import { adminBrowser, as, type Browser, type TestApp } from './helpers/app.js';
import {
  docker,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from './helpers/docker.js';
import { makeOrganizationWithAdmin, makeProject, requestInstance } from './helpers/factories.js';
import { followJob } from './helpers/jobs.js';
import { rpcLogin } from './helpers/odoo.js';

/**
 * Template databases (#18) on the real Docker engine and PostgreSQL with the Odoo STAND-IN, whose
 * `-i base` writes a uuid, a secret and an attachment like Odoo does: the first instance builds the
 * template, the next ones are copies with their own identity, and every way a template can be
 * missing, busy, broken, outdated or too many ends in a working instance. test/odoo/ repeats the
 * copy on real Odoo 17.
 */
const namespace = testNamespace();
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let projectId: string;
let counter = 0;

const headers = () => ({ cookie: admin.cookie, 'x-marina-csrf': admin.csrf });

async function provision() {
  const created = await requestInstance(as(t, admin), {
    project: projectId,
    name: `i${++counter}`,
    adminLogin: `owner${counter}@acme.test`,
  });
  const { job, logs } = await followJob(baseUrl, headers(), created.job.id, 180_000);
  expect(job.error).toBeNull();
  const row = await t.services.instances.row(created.instance.id);
  return { row, logs, password: created.credentials.password, login: `owner${counter}@acme.test` };
}

type Provisioned = Awaited<ReturnType<typeof provision>>;

const templates = () => t.db.selectFrom('database_templates').selectAll().orderBy('created_at').execute();

async function superuser() {
  const server = (await t.db.selectFrom('database_servers').selectAll().executeTakeFirstOrThrow()) as never;
  return t.services.databaseServers.connection(server);
}

/** Reads the instance's database as its own role (as Marina does). */
async function asInstance<T>(p: Provisioned, sql: string): Promise<T[]> {
  const connection = await t.services.databaseServers.forInstance(p.row);
  return withClient(connection, p.row.db_name, async (c) => (await c.query(sql)).rows as T[]);
}

const parameter = async (p: Provisioned, key: string) =>
  (await asInstance<{ value: string }>(p, `SELECT value FROM ir_config_parameter WHERE key = '${key}'`))[0]?.value;

async function urlOf(row: Provisioned['row']): Promise<string> {
  const url = await t.services.instances.internalUrl(row);
  if (!url) throw new Error('the instance has no address');
  return url;
}

async function signInAgain() {
  admin = await adminBrowser(t, `admin${++counter}@example.com`);
}

beforeAll(async () => {
  await requireDocker();
  ({ t, admin, baseUrl } = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin }));
  projectId = (await makeProject(as(t, admin))).id;
}, 120_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

describe('template databases (stand-in Odoo)', () => {
  let first: Provisioned;
  let second: Provisioned;

  it('builds the template on first need; the next instance is a copy with its own identity', {
    timeout: 240_000,
  }, async () => {
    first = await provision();
    expect(first.logs.some((l) => l.includes('building it (once per database server)'))).toBe(true);
    expect(first.logs.some((l) => l.includes('copied from template'))).toBe(true);
    second = await provision();
    expect(second.logs.some((l) => l.includes('building it'))).toBe(false);
    expect(second.logs.some((l) => l.includes('copied from template'))).toBe(true);

    const [template, ...others] = await templates();
    expect(others).toEqual([]);
    expect(template).toMatchObject({ status: 'ready', uses: 2 });
    expect(template?.recipe).toMatchObject({ odooVersion: '17.0', modules: ['base'], language: 'en_US', demo: false });

    // No shared identity, and each database owner signs in with the password Marina gave.
    expect(await parameter(first, 'database.uuid')).not.toBe(await parameter(second, 'database.uuid'));
    expect(await parameter(first, 'database.secret')).not.toBe(await parameter(second, 'database.secret'));
    expect(await parameter(second, 'database.create_date')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    for (const p of [first, second]) {
      const url = await urlOf(p.row);
      expect((await rpcLogin(url, p.row.db_name, p.login, p.password)).error).toBeUndefined();
      expect((await rpcLogin(url, p.row.db_name, 'admin', 'admin')).error).toBeDefined();
    }
    // The template's attachment came along, under the copy's own name.
    const files = await docker
      .getContainer(second.row.container_name)
      .exec({ Cmd: ['find', `/var/lib/odoo/filestore/${second.row.db_name}`, '-type', 'f'], AttachStdout: true });
    const output = await new Promise<string>((resolve) => {
      void files.start({}).then((stream) => {
        let text = '';
        stream.on('data', (d: Buffer) => {
          text += d.toString('latin1');
        });
        stream.on('end', () => resolve(text));
      });
    });
    expect(output).toMatch(/filestore\/odoo_[0-9a-f]{16}\/[0-9a-f]{2}\/[0-9a-f]{40}/);

    // Everything in the copy is the instance role's; it holds no other role; the template takes no connection.
    const foreign = await asInstance<{ n: number }>(
      second,
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE s.nspname = 'public' AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
    );
    expect(foreign[0]?.n).toBe(0);
    const memberships = await asInstance<{ n: number }>(
      second,
      'SELECT count(*)::int AS n FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = current_user',
    );
    expect(memberships[0]?.n).toBe(0);
    await expect(withClient(await superuser(), template?.db_name ?? '', (c) => c.query('select 1'))).rejects.toThrow(
      /not currently accepting connections/,
    );
  });

  it('goes the cold way, saying so, when the template is being built or cannot be copied', {
    timeout: 240_000,
  }, async () => {
    const [template] = await templates();
    await t.db
      .updateTable('database_templates')
      .set({ status: 'building' })
      .where('id', '=', template?.id ?? '')
      .execute();
    const busy = await provision();
    expect(busy.logs.some((l) => l.includes('is being built: initializing cold'))).toBe(true);
    expect((await rpcLogin(await urlOf(busy.row), busy.row.db_name, busy.login, busy.password)).error).toBeUndefined();

    // Anything unforeseen while choosing (here dropping a failed one whose name Marina refuses) goes cold too.
    await t.db
      .updateTable('database_templates')
      .set({ status: 'failed', db_name: 'Not-A-Name' })
      .where('id', '=', template?.id ?? '')
      .execute();
    const unforeseen = await provision();
    expect(
      unforeseen.logs.some((l) => l.includes('Choosing a template failed (refusing the database identifier')),
    ).toBe(true);
    const unforeseenUrl = await urlOf(unforeseen.row);
    expect(
      (await rpcLogin(unforeseenUrl, unforeseen.row.db_name, unforeseen.login, unforeseen.password)).error,
    ).toBeUndefined();

    // Its database vanished behind Marina's back: the copy fails, the instance is made cold, the template goes.
    await t.db
      .updateTable('database_templates')
      .set({ status: 'ready', db_name: template?.db_name ?? '' })
      .where('id', '=', template?.id ?? '')
      .execute();
    await withSuperuser(await superuser(), (c) => c.query(`DROP DATABASE ${template?.db_name}`));
    const broken = await provision();
    expect(broken.logs.some((l) => l.includes('Copying the template failed'))).toBe(true);
    const url = await urlOf(broken.row);
    expect((await rpcLogin(url, broken.row.db_name, broken.login, broken.password)).error).toBeUndefined();
    expect((await templates()).map((r) => r.status)).toEqual(['failed']);

    // The next need builds it again.
    const rebuilt = await provision();
    expect(rebuilt.logs.some((l) => l.includes('building it'))).toBe(true);
    expect((await templates()).map((r) => r.status)).toEqual(['ready']);
  });

  it('replaces a template whose key changed, rebuilds one past its age or interrupted, and keeps to the cap', {
    timeout: 300_000,
  }, async () => {
    const [old] = await templates();
    // As if the image or a module's content had changed since: the next need builds anew, the old one goes.
    await t.db
      .updateTable('database_templates')
      .set({ key_hash: 'changed', last_used_at: new Date(t.clock.now().getTime() - 11 * 60_000) })
      .where('id', '=', old?.id ?? '')
      .execute();
    const renewed = await provision();
    expect(renewed.logs.some((l) => l.includes('building it'))).toBe(true);
    const now = await templates();
    expect(now).toHaveLength(1);
    expect(now[0]?.id).not.toBe(old?.id);
    expect(await databaseExists(await superuser(), old?.db_name ?? '')).toBe(false);
    expect((await docker.listVolumes()).Volumes?.some((v) => v.Name === old?.volume_name)).toBe(false);

    // Past its age but copied minutes ago (that copy may still be reading it): neither pruning nor the next need drops it.
    const at = (minutesAgo: number) => new Date(t.clock.now().getTime() - minutesAgo * 60_000);
    const current = now[0];
    await t.db
      .updateTable('database_templates')
      .set({ ready_at: at(31 * 24 * 60), last_used_at: at(5) })
      .where('id', '=', current?.id ?? '')
      .execute();
    expect(await t.services.databaseTemplates.prune(current?.database_server_id ?? '')).toBe(0);
    const spared = await provision();
    expect(spared.logs.some((l) => l.includes('building it'))).toBe(false);
    expect(spared.logs.some((l) => l.includes(`copied from template ${current?.db_name}`))).toBe(true);
    expect((await templates()).map((r) => r.id)).toEqual([current?.id]);

    // Past its age (30 days by default) and resting: built again on its next need.
    t.clock.advanceMinutes(31 * 24 * 60);
    await signInAgain();
    const aged = await provision();
    expect(aged.logs.some((l) => l.includes('building it'))).toBe(true);
    expect(await templates()).toHaveLength(1);

    // A build that never finished (Marina stopped in it) is cleaned and built again after 30 minutes.
    await t.db.updateTable('database_templates').set({ status: 'building', created_at: t.clock.now() }).execute();
    t.clock.advanceMinutes(31);
    await signInAgain();
    const resumed = await provision();
    expect(resumed.logs.some((l) => l.includes('building it'))).toBe(true);

    // The cap (8 per server): the least recently used beyond it go, one recently copied stays.
    const [live] = await templates();
    for (let i = 0; i < 8; i++) {
      await t.db
        .insertInto('database_templates')
        .values({
          database_server_id: live?.database_server_id ?? '',
          host_id: live?.host_id ?? '',
          key_hash: `other-${i}`,
          recipe_hash: `other-${i}`,
          recipe: JSON.stringify(live?.recipe),
          db_name: `marina_tpl_fake${i}`,
          volume_name: `${namespace}-dbtemplate-fake${i}`,
          status: 'ready',
          created_at: at(100 + i),
          ready_at: at(100 + i),
          last_used_at: at(20 + i),
        })
        .execute();
    }
    expect(await t.services.databaseTemplates.prune(live?.database_server_id ?? '')).toBe(1);
    const kept = (await templates()).map((r) => r.db_name);
    expect(kept).toHaveLength(8);
    expect(kept).toContain(live?.db_name);
    expect(kept).not.toContain('marina_tpl_fake7');
  });

  it('lists the templates to platform admins, who can drop one; nobody else sees them', async () => {
    const { admin: stranger } = await makeOrganizationWithAdmin(t, admin, { slug: 'other' });
    expect((await as(t, stranger)('GET', '/api/v1/database-templates')).statusCode).toBe(403);
    const listed = await as(t, admin)('GET', '/api/v1/database-templates');
    expect(listed.statusCode).toBe(200);
    const real = listed.json().templates.find((x: { database: string }) => !x.database.includes('fake'));
    expect(real).toMatchObject({ status: 'ready', odooVersion: '17.0', modules: ['base'], language: 'en_US' });
    expect((await as(t, stranger)('DELETE', `/api/v1/database-templates/${real.id}`)).statusCode).toBe(403);
    expect((await as(t, admin)('DELETE', `/api/v1/database-templates/${real.id}`)).statusCode).toBe(204);
    expect(await databaseExists(await superuser(), real.database)).toBe(false);
    expect((await as(t, admin)('DELETE', `/api/v1/database-templates/${real.id}`)).statusCode).toBe(404);
    const audit = await t.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', '=', 'platform.remove_database_template')
      .execute();
    expect(audit).toHaveLength(1);
  });

  it('builds the versions a platform admin marks warm ahead, so that even the first instance is a copy', {
    timeout: 240_000,
  }, async () => {
    for (const row of await templates()) await t.services.databaseTemplates.remove(row);
    const { admin: stranger } = await makeOrganizationWithAdmin(t, admin, { slug: 'warmth' });
    expect(
      (await as(t, stranger)('PUT', '/api/v1/database-templates/warm', { versions: ['17.0'], templates: [] }))
        .statusCode,
    ).toBe(403);
    const bad = await as(t, admin)('PUT', '/api/v1/database-templates/warm', { versions: ['12.0'], templates: [] });
    expect(bad.statusCode).toBe(400);
    const unknown = await as(t, admin)('PUT', '/api/v1/database-templates/warm', {
      versions: [],
      templates: ['00000000-0000-4000-8000-000000000000'],
    });
    expect(unknown.statusCode).toBe(400);
    expect(await templates()).toEqual([]);

    const saved = await as(t, admin)('PUT', '/api/v1/database-templates/warm', { versions: ['17.0'], templates: [] });
    expect(saved.statusCode).toBe(200);
    expect((await as(t, admin)('GET', '/api/v1/database-templates/warm')).json()).toEqual({
      versions: ['17.0'],
      templates: [],
    });
    const deadline = Date.now() + 120_000;
    while (!(await templates()).some((r) => r.status === 'ready') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await templates()).map((r) => r.status)).toEqual(['ready']);
    expect(await t.services.warmTemplates.warmUp()).toEqual(['17.0 base: ready']);

    const first = await provision();
    expect(first.logs.some((l) => l.includes('building it'))).toBe(false);
    expect(first.logs.some((l) => l.includes('copied from template'))).toBe(true);
    expect(
      (await rpcLogin(await urlOf(first.row), first.row.db_name, first.login, first.password)).error,
    ).toBeUndefined();
  });
});
