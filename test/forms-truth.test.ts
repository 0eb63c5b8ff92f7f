import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRuntime } from '../src/runtime/memory.js';
import { instanceHeldByAJob } from './forms-truth-support.js';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from './helpers/app.js';
import { makeOrganization, makeProject } from './helpers/factories.js';

/**
 * Issue #17, "tell the truth" in forms: a refused name says the real rule and what the value breaks
 * of it; the Odoo versions say which ones can run here and what is missing for the others, and a
 * version that cannot run is refused when the instance is asked for, not after a job was queued.
 * Fast: the in-memory runtime stand-in holds only the Odoo 17 image.
 */
const memory = new MemoryRuntime({ images: ['odoo:17'] });
let t: TestApp;
let admin: Browser;

beforeAll(async () => {
  t = await createTestApp({}, { runtime: () => memory });
  await t.services.startBackground();
  admin = await adminBrowser(t);
  await makeOrganization(as(t, admin), { slug: 'acme' });
});

afterAll(async () => {
  await t?.close();
});

describe('a refused name', () => {
  it('states the rule and what is wrong with the value, for every kind of name', async () => {
    const api = as(t, admin);
    const project17 = await makeProject(api, { name: 'erp', odooVersion: '17.0' });
    const cases: [string, string, Record<string, unknown>, string][] = [
      ['organization slug', '/api/v1/organizations', { slug: 'ERP_2024 !', name: 'ERP' }, 'slug'],
      ['project name', '/api/v1/projects', { organization: 'acme', name: 'ERP_2024 !', odooVersion: '17.0' }, 'name'],
      [
        'instance name',
        '/api/v1/instances',
        { project: project17.id, name: 'ERP_2024 !', stage: 'development', adminLogin: 'a@acme.test' },
        'name',
      ],
    ];
    for (const [what, url, body, field] of cases) {
      const refused = await api('POST', url, body);
      expect(refused.statusCode, what).toBe(400);
      const { message, details } = refused.json().error;
      expect(message, what).not.toContain('control characters');
      expect(message, what).toContain('lowercase letters, digits and hyphens');
      expect(message, what).toContain('"ERP_2024 !" has uppercase letters, "_", a space and "!"');
      expect(details.issues[0], what).toMatchObject({ field, message: expect.stringContaining('uppercase letters') });
    }
    // A name that only starts with a hyphen says that, not "characters that are not allowed".
    const hyphen = await api('POST', '/api/v1/organizations', { slug: '-acme', name: 'x' });
    expect(hyphen.json().error.message).toContain('"-acme" starts with a hyphen');
  });

  it('is refused by the services in the same words (callers that do not come through HTTP)', async () => {
    const { requireSlug } = await import('../src/platform/validation.js');
    expect(() => requireSlug('Acme Corp', 'slug')).toThrow(/"Acme Corp" has uppercase letters and a space/);
    expect(requireSlug('acme-2', 'slug')).toBe('acme-2');
  });
});

describe('Odoo versions', () => {
  it('are listed with whether their image is on the host, and what is missing for the others', async () => {
    const listed = await as(t, admin)('GET', '/api/v1/odoo-versions');
    expect(listed.statusCode).toBe(200);
    const versions = listed.json().versions as { version: string; available: boolean; reason: string | null }[];
    expect(versions.find((v) => v.version === '17.0')).toMatchObject({
      available: true,
      image: 'odoo:17',
      reason: null,
    });
    const v18 = versions.find((v) => v.version === '18.0');
    expect(v18).toMatchObject({ available: false, image: 'odoo:18' });
    expect(v18?.reason).toContain('image odoo:18 not found on host local');
    expect(v18?.reason).toContain('MARINA_ODOO_18_IMAGE');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/odoo-versions' })).statusCode).toBe(401);
  });

  it('refuse an instance of a version whose image is missing, before any job is queued', async () => {
    const api = as(t, admin);
    const project = await makeProject(api, { name: 'next', odooVersion: '18.0' });
    const jobsBefore = await t.db.selectFrom('operations').select('id').execute();
    const refused = await api('POST', '/api/v1/instances', {
      project: project.id,
      name: 'main',
      stage: 'development',
      adminLogin: 'a@acme.test',
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('MARINA_E_ODOO_VERSION_UNAVAILABLE');
    expect(refused.json().error.message).toContain('Odoo 18.0 cannot run here: image odoo:18 not found on host local');
    expect(await t.db.selectFrom('operations').select('id').execute()).toHaveLength(jobsBefore.length);
    expect(await t.db.selectFrom('instances').select('id').where('project_id', '=', project.id).execute()).toEqual([]);
  });
});

describe('adding a repository to a busy instance', () => {
  it('points the checkout at the job holding the instance, instead of a bare "another job is running"', async () => {
    const api = as(t, admin);
    const { project, holdingJobId } = await instanceHeldByAJob(t, api, { project: 'addons', instance: 'busy' });

    const added = await api('POST', `/api/v1/projects/${project.id}/repositories`, {
      url: 'https://git.example.test/acme/addons.git',
      branch: '17.0',
    });
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json().jobs).toEqual([]);
    const checkout = added.json().repository.checkouts[0];
    // The card links to the job that holds the instance, and the message names it.
    expect(checkout.lastJobId).toBe(holdingJobId);
    expect(checkout.error).toContain(holdingJobId);
    expect(checkout.error).toContain('Press Update once that job has ended');
  });
});
