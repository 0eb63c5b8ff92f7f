import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/adapters/postgres/admin.js';
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

/**
 * A template applied to REAL Odoo 17 (ODOO_SOURCE): `test_convert` (a module of the source tree)
 * installed with base in the one init run, French, Belgium, the company named after the
 * organization, demo data loaded for that run (odoo.conf says `without_demo = all`), and the
 * credentials Marina handed over log in while the demo users' well-known passwords do not.
 * The stand-in version of the same flow: test/templates-provision.test.ts.
 */
const source = odooSource();

/** Ports of its own, away from the range other test runs of the same worker number take. */
const ownPorts = () => {
  const from = 30000 + Math.floor(Math.random() * 200) * 100;
  return `${from}-${from + 99}`;
};

describe.skipIf(!source)('real Odoo 17: an instance made from a template', () => {
  const namespace = testNamespace();
  let t: TestApp;
  let admin: Browser;
  let baseUrl: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    await requireDocker();
    await docker.getImage(TEST_IMAGES.runtime).inspect();
    ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime,
      MARINA_ODOO_17_SOURCE: source ?? '',
      MARINA_INSTANCE_PORTS: ownPorts(),
    }));
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await removeNamespace(namespace);
  });

  /** The instance's database, read as its own role. */
  async function tenant<T>(instanceId: string, sql: string): Promise<T[]> {
    const row = await t.services.instances.row(instanceId);
    const connection = await t.services.databaseServers.forInstance(row);
    return withClient(connection, row.db_name, async (db) => (await db.query(sql)).rows as T[]);
  }

  it('installs test_convert in French for Belgium, names the company, loads demo data, and the credentials log in', {
    timeout: 600_000,
  }, async () => {
    const call = as(t, admin);
    const organization = await call('POST', '/api/v1/organizations', { slug: 'lambic', name: 'Brasserie Lambic' });
    expect(organization.statusCode, organization.body).toBe(201);
    const project = await call('POST', '/api/v1/projects', {
      organization: 'lambic',
      name: 'erp',
      odooVersion: '17.0',
    });
    expect(project.statusCode, project.body).toBe(201);
    const template = await call('POST', '/api/v1/odoo-templates', {
      slug: 'belgian-demo',
      name: 'Belgian demo',
      odooVersion: '17.0',
      modules: ['test_convert'],
      language: 'fr_FR',
      country: 'BE',
      companyNameFromOrg: true,
      demo: true,
    });
    expect(template.statusCode, template.body).toBe(201);
    const created = await call('POST', '/api/v1/instances', {
      project: project.json().project.id,
      name: 'main',
      stage: 'production',
      cpus: 1,
      memoryMb: 1024,
      adminLogin: 'owner@lambic.test',
      templateId: template.json().template.id,
    });
    expect(created.statusCode, created.body).toBe(202);
    const { instance, job, credentials } = created.json();
    const followed = await followJob(baseUrl, headers, job.id, 540_000);
    if (followed.job.status !== 'succeeded') console.log(followed.logs.slice(-60).join('\n'));
    expect(followed.job.status).toBe('succeeded');
    // Built once as a template database with the modules, language and demo data, then copied (#18).
    expect(followed.logs.some((l) => l.includes('No template for base, test_convert, web yet: building it'))).toBe(
      true,
    );
    expect(followed.logs.some((l) => l.includes('copied from template'))).toBe(true);

    const modules = await tenant<{ name: string; state: string; demo: boolean }>(
      instance.id,
      "SELECT name, state, demo FROM ir_module_module WHERE name IN ('base', 'test_convert') ORDER BY name",
    );
    expect(modules).toEqual([
      { name: 'base', state: 'installed', demo: true },
      { name: 'test_convert', state: 'installed', demo: true },
    ]);
    // Base's demo data is there (its demo user), though odoo.conf keeps `without_demo = all`.
    const demoUser = await tenant<{ login: string; password: string | null }>(
      instance.id,
      `SELECT u.login, u.password FROM res_users u
         JOIN ir_model_data d ON d.res_id = u.id AND d.model = 'res.users' AND d.module = 'base' AND d.name = 'user_demo'`,
    );
    expect(demoUser).toEqual([{ login: 'demo', password: null }]);
    const lang = await tenant<{ code: string }>(
      instance.id,
      "SELECT code FROM res_lang WHERE active AND code = 'fr_FR'",
    );
    expect(lang).toEqual([{ code: 'fr_FR' }]);
    const adminPartner = await tenant<{ lang: string }>(
      instance.id,
      "SELECT p.lang FROM res_users u JOIN res_partner p ON p.id = u.partner_id WHERE u.login = 'owner@lambic.test'",
    );
    expect(adminPartner).toEqual([{ lang: 'fr_FR' }]);
    const company = await tenant<{ name: string; partner: string; complete: string; country: string }>(
      instance.id,
      `SELECT c.name, p.name AS partner, p.complete_name AS complete, k.code AS country
         FROM res_company c
         JOIN ir_model_data d ON d.res_id = c.id AND d.model = 'res.company' AND d.module = 'base' AND d.name = 'main_company'
         JOIN res_partner p ON p.id = c.partner_id
         LEFT JOIN res_country k ON k.id = p.country_id`,
    );
    expect(company).toEqual([
      { name: 'Brasserie Lambic', partner: 'Brasserie Lambic', complete: 'Brasserie Lambic', country: 'BE' },
    ]);

    // Odoo itself: the handed-over credentials log in; demo/demo and portal/portal do not.
    const view = (await call('GET', `/api/v1/instances/${instance.id}`)).json().instance;
    const login = await rpcLogin(view.url, view.dbName, credentials.login, credentials.password);
    expect(login.error, JSON.stringify(login.error)).toBeUndefined();
    expect(login.result?.uid).toBe(2);
    for (const user of ['demo', 'portal']) {
      // Their passwords are their logins in base's demo data.
      const refused = await rpcLogin(view.url, view.dbName, user, user);
      expect(refused.result?.uid, user).toBeUndefined();
    }
  });
});
