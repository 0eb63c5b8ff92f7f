import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../src/adapters/postgres/admin.js';
import { as, type TestApp } from './helpers/app.js';
import { removeNamespace, requireDocker, startDockerMarina, TEST_IMAGES, testNamespace } from './helpers/docker.js';
import { makeProject } from './helpers/factories.js';
import {
  allowLocalRepositories,
  createTestRepository,
  demoAddon,
  type TestRepository,
  writeAddon,
} from './helpers/git-repo.js';
import { followJob } from './helpers/jobs.js';

/**
 * A template applied by the provisioning job on the real engine and PostgreSQL, with Marina's Odoo
 * STAND-IN as Odoo (it installs what `-i` names from the addons path, loads demo data unless told
 * not to, and refuses a module it cannot find): the template's module, from the project's own
 * repository, is installed in the same run as base; demo data is loaded for that run only; the
 * company is named after the organization; a name Odoo cannot find fails the job at initialize,
 * naming it. Real Odoo: test/odoo/templates.test.ts.
 */
const namespace = testNamespace();
/** Ports of its own, away from the range other test runs of the same worker number take. */
const ownPorts = () => {
  const from = 30000 + Math.floor(Math.random() * 200) * 100;
  return `${from}-${from + 99}`;
};
let marina: Awaited<ReturnType<typeof startDockerMarina>>;
let t: TestApp;
let repo: TestRepository;
let projectId: string;

beforeAll(async () => {
  await requireDocker();
  marina = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_INSTANCE_PORTS: ownPorts(),
  });
  t = marina.t;
  const call = as(t, marina.admin);
  repo = await createTestRepository('17.0');
  await writeAddon(repo, 'marina_demo', demoAddon({ version: '1.0' }));
  await repo.commit('marina_demo');
  await repo.push();
  const acme = (await call('GET', '/api/v1/organizations/acme')).json<{ organization: { id: string } }>().organization;
  await allowLocalRepositories(call, acme.id);
  projectId = (await makeProject(call, { organization: 'acme', name: 'erp', odooVersion: '17.0' })).id;
  // Before any instance: each new instance clones it while provisioning, before Odoo initializes.
  const added = await call('POST', `/api/v1/projects/${projectId}/repositories`, { url: repo.url, branch: '17.0' });
  expect(added.statusCode, added.body).toBe(201);
}, 180_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
  await repo?.cleanup();
});

async function template(fields: Record<string, unknown>): Promise<string> {
  const made = await as(t, marina.admin)('POST', '/api/v1/odoo-templates', { odooVersion: '17.0', ...fields });
  expect(made.statusCode, made.body).toBe(201);
  return made.json<{ template: { id: string } }>().template.id;
}

async function create(name: string, templateId: string) {
  const made = await as(t, marina.admin)('POST', '/api/v1/instances', {
    project: projectId,
    name,
    stage: 'staging',
    memoryMb: 768,
    adminLogin: 'owner@acme.test',
    templateId,
  });
  expect(made.statusCode, made.body).toBe(202);
  const body = made.json<{ instance: { id: string }; job: { id: string } }>();
  const followed = await followJob(marina.baseUrl, marina.headers, body.job.id, 150_000);
  return { id: body.instance.id, ...followed };
}

/** Reads the instance's database as its own role (how Marina reads it). */
async function tenant<T>(instanceId: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const row = await t.services.instances.row(instanceId);
  const connection = await t.services.databaseServers.forInstance(row);
  return withClient(connection, row.db_name, async (db) => (await db.query(sql, params)).rows as T[]);
}

describe('provisioning with a template (Docker + the Odoo stand-in)', { timeout: 300_000 }, () => {
  it('installs the template’s modules with base in one run, with demo data, and names the company', async () => {
    const id = await template({
      slug: 'crm-demo',
      name: 'Demo',
      modules: ['marina_demo'],
      language: 'fr_FR',
      country: 'BE',
      demo: true,
      companyNameFromOrg: true,
    });
    const made = await create('main', id);
    expect(made.job.status, JSON.stringify(made.job.error)).toBe('succeeded');
    expect(made.logs.join('\n')).toContain('Template: installing base, marina_demo, with demo data.');

    const modules = await tenant<{ name: string; state: string; demo: boolean }>(
      made.id,
      "SELECT name, state, demo FROM ir_module_module WHERE name IN ('base', 'marina_demo') ORDER BY name",
    );
    // Demo data: the stand-in records it per module, as Odoo does, only when the run asked for it.
    expect(modules).toEqual([
      { name: 'base', state: 'installed', demo: true },
      { name: 'marina_demo', state: 'installed', demo: true },
    ]);
    const company = await tenant<{ name: string; partner: string; complete: string; country: string }>(
      made.id,
      `SELECT c.name, p.name AS partner, p.complete_name AS complete, k.code AS country
         FROM res_company c JOIN res_partner p ON p.id = c.partner_id LEFT JOIN res_country k ON k.id = p.country_id`,
    );
    expect(company).toEqual([{ name: 'ACME', partner: 'ACME', complete: 'ACME', country: 'BE' }]);
    const admin = await tenant<{ lang: string }>(
      made.id,
      "SELECT p.lang FROM res_users u JOIN res_partner p ON p.id = u.partner_id WHERE u.login = 'owner@acme.test'",
    );
    expect(admin).toEqual([{ lang: 'fr_FR' }]);
    const langs = await tenant<{ code: string }>(made.id, 'SELECT code FROM res_lang WHERE active ORDER BY code');
    expect(langs.map((l) => l.code)).toContain('fr_FR');
    const row = await t.services.instances.row(made.id);
    expect(row).toMatchObject({ template_id: id, language: 'fr_FR', country: 'BE' });
  });

  it('without demo and without the company name, leaves both as Odoo makes them', async () => {
    const id = await template({ slug: 'plain', name: 'Plain', modules: ['marina_demo'], companyNameFromOrg: false });
    const made = await create('plain', id);
    expect(made.job.status, JSON.stringify(made.job.error)).toBe('succeeded');
    expect(made.logs.join('\n')).toContain('Template: installing base, marina_demo.');
    const modules = await tenant<{ name: string; demo: boolean }>(
      made.id,
      "SELECT name, demo FROM ir_module_module WHERE state = 'installed' AND name IN ('base', 'marina_demo') ORDER BY name",
    );
    expect(modules).toEqual([
      { name: 'base', demo: false },
      { name: 'marina_demo', demo: false },
    ]);
    const company = await tenant<{ name: string }>(made.id, 'SELECT name FROM res_company');
    expect(company).toEqual([{ name: 'My Company' }]);
  });

  it('fails at initialize, naming the module Odoo cannot find', async () => {
    const id = await template({ slug: 'missing', name: 'Missing', modules: ['marina_demo', 'no_such_module_xyz'] });
    const made = await create('missing', id);
    expect(made.job.status).toBe('failed');
    expect(made.job.error?.step).toBe('initialize');
    expect(made.job.error?.message).toContain('no_such_module_xyz');
    const row = await t.services.instances.row(made.id);
    expect(row.status).toBe('failed');
  });

  it('checks the module names again right before they reach Odoo: a row changed behind Marina’s back fails', async () => {
    const id = await template({ slug: 'tampered', name: 'Tampered', modules: ['marina_demo'] });
    // As if someone wrote the table directly: an option where a module name should be.
    await t.db
      .updateTable('odoo_templates')
      .set({ modules: ['--load=evil'] })
      .where('id', '=', id)
      .execute();
    const made = await create('tampered', id);
    expect(made.job.status).toBe('failed');
    expect(made.job.error?.step).toBe('initialize');
    expect(made.job.error?.message).toContain('"--load=evil" is not an Odoo module name');
  });

  it('refuses a template made for another Odoo version before anything is made', async () => {
    const id = await template({ slug: 'eighteen', name: 'Eighteen', odooVersion: '18.0' });
    const refused = await as(t, marina.admin)('POST', '/api/v1/instances', {
      project: projectId,
      name: 'wrong',
      stage: 'staging',
      memoryMb: 768,
      adminLogin: 'owner@acme.test',
      templateId: id,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/made for Odoo 18\.0; the project erp runs Odoo 17\.0/);
    expect(await t.db.selectFrom('instances').select('id').where('name', '=', 'wrong').execute()).toEqual([]);
  });
});
