import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/adapters/postgres/admin.js';
import { ODOO_BYTECODE_DIR } from '../../src/modules/instances/odoo-container.js';
import { as, type Browser, type TestApp } from '../helpers/app.js';
import {
  docker,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../helpers/docker.js';
import { makeProject, requestInstance } from '../helpers/factories.js';
import { followJob } from '../helpers/jobs.js';
import { odooSource, rpcLogin } from '../helpers/odoo.js';

/**
 * Template databases (#18) on REAL Odoo 17: the second instance is a copy of the template the first
 * one built, answers /web/login, lets its owner (and nobody with admin/admin) sign in, has its own
 * uuid and secret, and has exactly the modules `-i base` installs (base and the auto-installed web).
 * Later instances start from the compiled Python Marina keeps for the mounted source.
 */
const source = odooSource();

describe.skipIf(!source)('template databases on real Odoo 17', () => {
  const namespace = testNamespace();
  let t: TestApp;
  let admin: Browser;
  let baseUrl: string;
  let projectId: string;
  const headers = () => ({ cookie: admin.cookie, 'x-marina-csrf': admin.csrf });

  beforeAll(async () => {
    await requireDocker();
    await docker.getImage(TEST_IMAGES.runtime).inspect();
    ({ t, admin, baseUrl } = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime,
      MARINA_ODOO_17_SOURCE: source ?? '',
    }));
    projectId = (await makeProject(as(t, admin))).id;
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await removeNamespace(namespace);
  });

  async function provision(name: string) {
    const login = `${name}@acme.test`;
    const created = await requestInstance(as(t, admin), { project: projectId, name, adminLogin: login });
    const { job, logs } = await followJob(baseUrl, headers(), created.job.id, 300_000);
    expect(job.error).toBeNull();
    const row = await t.services.instances.row(created.instance.id);
    const url = await t.services.instances.internalUrl(row);
    if (!url) throw new Error('no address');
    const read = async <T>(sql: string) =>
      withClient(
        await t.services.databaseServers.forInstance(row),
        row.db_name,
        async (c) => (await c.query(sql)).rows as T[],
      );
    return { row, url, logs, login, password: created.credentials.password, read };
  }

  it('copies the template into a working Odoo with its own identity and the right modules', {
    timeout: 600_000,
  }, async () => {
    const first = await provision('first');
    expect(first.logs.some((l) => l.includes('building it'))).toBe(true);
    const second = await provision('second');
    expect(second.logs.some((l) => l.includes('copied from template'))).toBe(true);
    expect(second.logs.some((l) => l.includes('building it'))).toBe(false);

    const [template] = await t.db.selectFrom('database_templates').selectAll().execute();
    expect(template?.recipe.modules).toEqual(['base', 'web']);
    expect(template?.recipe.checksum).toMatch(/^[0-9a-f]{64}$/);

    for (const p of [first, second]) {
      expect((await fetch(`${p.url}/web/login`)).status).toBe(200);
      expect((await rpcLogin(p.url, p.row.db_name, p.login, p.password)).error).toBeUndefined();
      expect((await rpcLogin(p.url, p.row.db_name, 'admin', 'admin')).error).toBeDefined();
      const installed = await p.read<{ name: string }>(
        "SELECT name FROM ir_module_module WHERE state = 'installed' ORDER BY name",
      );
      expect(installed.map((m) => m.name)).toEqual(template?.recipe.modules);
    }
    const identity = async (p: typeof first) =>
      Object.fromEntries(
        (
          await p.read<{ key: string; value: string }>(
            "SELECT key, value FROM ir_config_parameter WHERE key IN ('database.uuid', 'database.secret', 'web.base.url')",
          )
        ).map((r) => [r.key, r.value]),
      );
    const [a, b] = [await identity(first), await identity(second)];
    expect(a['database.uuid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a['database.uuid']).not.toBe(b['database.uuid']);
    expect(a['database.secret']).not.toBe(b['database.secret']);
    // The company's logo is an attachment in the filestore: Odoo serves it from the copy's own files.
    const logo = await fetch(`${second.url}/web/binary/company_logo?dbname=${second.row.db_name}`);
    expect(logo.status).toBe(200);
    expect((await logo.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  it('starts Odoo from the compiled Python that Marina keeps for the mounted source', {
    timeout: 600_000,
  }, async () => {
    // The first need builds the cache beside its provisioning; the next instance mounts it.
    await provision('compiles');
    await t.services.bytecode.settled();
    const cached = await provision('cached');
    const container = await docker.getContainer(cached.row.container_name).inspect();
    expect(container.Config.Env).toContain(`PYTHONPYCACHEPREFIX=${ODOO_BYTECODE_DIR}`);
    expect(container.Mounts.find((m) => m.Destination === ODOO_BYTECODE_DIR)).toMatchObject({ RW: false });
    const engine = await t.services.hosts.reachableRuntime(cached.row.host_id);
    const python = await engine.exec(cached.row.container_name, [
      'python3',
      '-v',
      '-c',
      "import sys; sys.path.insert(0, '/opt/odoo'); import odoo.addons.base.models.res_partner",
    ]);
    expect(python.output).toContain(
      `code object from '${ODOO_BYTECODE_DIR}/opt/odoo/odoo/addons/base/models/res_partner.cpython-`,
    );
    expect((await fetch(`${cached.url}/web/login`)).status).toBe(200);
    expect((await rpcLogin(cached.url, cached.row.db_name, cached.login, cached.password)).error).toBeUndefined();
  });
});
