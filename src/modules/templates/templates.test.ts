import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
  withToken,
} from '../../../test/helpers/app.js';
import { makeOrganization, makeProject } from '../../../test/helpers/factories.js';
import { MemoryRuntime } from '../../runtime/memory.js';

/**
 * Odoo templates through the API on the real database: the admins' CRUD and its checks, the
 * recipe's hash, archive versus delete, and a new instance asked with a template (the in-memory
 * runtime stands in for Docker: what is checked here is what Marina records and refuses).
 */
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
let t: TestApp;
let admin: Browser;
let owner: Browser;
let organizationId: string;
let projectId: string;
const call = (...args: Parameters<ReturnType<typeof as>>) => as(t, admin)(...args);

interface Template {
  id: string;
  slug: string;
  name: string;
  modules: string[];
  language: string;
  country: string | null;
  demo: boolean;
  public: boolean;
  contentHash: string;
  archivedAt: string | null;
  instances: number;
}

let made = 0;
async function makeTemplate(fields: Record<string, unknown> = {}): Promise<Template> {
  made += 1;
  const answer = await call('POST', '/api/v1/odoo-templates', {
    slug: `tpl-${made}`,
    name: `Template ${made}`,
    odooVersion: '17.0',
    ...fields,
  });
  expect(answer.statusCode, answer.body).toBe(201);
  return answer.json<{ template: Template }>().template;
}

const auditOf = (id: string) =>
  t.db.selectFrom('audit_events').select(['action', 'details']).where('target_id', '=', id).orderBy('id').execute();

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtmemtpl',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  admin = await adminBrowser(t);
  organizationId = (await makeOrganization(call, { slug: 'acme', name: 'ACME Corp' })).id;
  projectId = (await makeProject(call, { organization: 'acme', name: 'erp', odooVersion: '17.0' })).id;
  owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
});

afterAll(async () => {
  await t?.close();
});

describe('Odoo templates (platform admins)', () => {
  it('makes, lists, reads and changes a template, and audits each change', async () => {
    const template = await makeTemplate({
      name: 'Sales',
      description: 'Quotations and invoices.\nReady to sell.',
      modules: ['base', 'sale_management', 'account'],
      language: 'fr_BE',
      country: 'BE',
      demo: true,
      sort: 5,
    });
    // base is always installed: it is dropped from the list, the order given is kept.
    expect(template).toMatchObject({
      name: 'Sales',
      modules: ['sale_management', 'account'],
      language: 'fr_BE',
      country: 'BE',
      demo: true,
      public: true,
      archivedAt: null,
      instances: 0,
    });
    const listed = (await call('GET', '/api/v1/odoo-templates')).json<{ templates: Template[] }>().templates;
    expect(listed.map((x) => x.id)).toContain(template.id);
    const read = await call('GET', `/api/v1/odoo-templates/${template.id}`);
    expect(read.json().template.description).toBe('Quotations and invoices.\nReady to sell.');

    const changed = await call('PATCH', `/api/v1/odoo-templates/${template.id}`, { name: 'Sales+', country: null });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json().template).toMatchObject({ name: 'Sales+', country: null, modules: template.modules });

    const audit = await auditOf(template.id);
    expect(audit.map((a) => a.action)).toEqual(['odoo_template.create', 'odoo_template.update']);
    expect(audit[1]?.details).toMatchObject({ changed: ['name', 'country'] });
  });

  it('refuses every bad field with the field named and the rule said, and writes nothing', async () => {
    const before = await t.db
      .selectFrom('odoo_templates')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const base = { slug: 'bad', name: 'Bad', odooVersion: '17.0' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ slug: 'Bad_Slug' }, /slug.*(uppercase|"_")/i],
      [{ name: '   ' }, /name must not be empty/],
      [{ name: 'a\u0007b' }, /name/],
      [{ description: 'x'.repeat(501) }, /description.*500/],
      [{ description: 'tab\there' }, /description must not contain control characters/],
      [{ odooVersion: '15.0' }, /The Odoo version must be one of 16\.0, 17\.0, 18\.0, 19\.0/],
      [{ odooVersion: 'latest' }, /The Odoo version must be one of/],
      [{ modules: ['Sale'] }, /"Sale" is not an Odoo module name/],
      [{ modules: ['sale-x'] }, /"sale-x" is not an Odoo module name/],
      [{ modules: ['a'.repeat(65)] }, /is not an Odoo module name: 1 to 64/],
      [{ modules: ['--init=all'] }, /is not an Odoo module name/],
      [{ modules: ['sale', 'crm', 'sale'] }, /"sale" is listed twice/],
      [{ modules: Array.from({ length: 51 }, (_, i) => `m${i}`) }, /at most 50 modules/],
      [{ modules: 'sale' }, /modules/],
      [{ language: 'french' }, /language must be an Odoo language code/],
      [{ language: 'fr-BE' }, /language must be an Odoo language code/],
      [{ country: 'be' }, /country must be a two-letter ISO code/],
      [{ country: 'B1' }, /country must be a two-letter ISO code/],
      [{ sort: 1.5 }, /sort/],
      [{ demo: 'yes' }, /demo/],
      [{ public: 1 }, /public/],
      [{ companyNameFromOrg: null }, /companyNameFromOrg/],
      [{ unknown: 1 }, /unknown is not a known field/],
    ];
    for (const [fields, message] of cases) {
      const answer = await call('POST', '/api/v1/odoo-templates', { ...base, ...fields });
      expect(answer.statusCode, JSON.stringify(fields)).toBe(400);
      expect(answer.json().error.code).toBe('MARINA_E_VALIDATION');
      expect(answer.json().error.message, JSON.stringify(fields)).toMatch(message);
    }
    // A change is checked the same way.
    const template = await makeTemplate();
    const patched = await call('PATCH', `/api/v1/odoo-templates/${template.id}`, { modules: ['ok', 'Not_OK'] });
    expect(patched.statusCode).toBe(400);
    expect(patched.json().error).toMatchObject({ details: { field: 'modules' } });
    expect(patched.json().error.message).toMatch(/"Not_OK" is not an Odoo module name/);
    // Two templates cannot share a slug.
    const clash = await call('POST', '/api/v1/odoo-templates', { ...base, slug: template.slug });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error.message).toMatch(/exists already/);
    const after = await t.db
      .selectFrom('odoo_templates')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n) + 1);
  });

  it('refuses organization members and organization tokens', async () => {
    const template = await makeTemplate({ public: false });
    const asOwner = as(t, owner);
    for (const [method, url, body] of [
      ['GET', '/api/v1/odoo-templates'],
      ['POST', '/api/v1/odoo-templates', { slug: 'mine', name: 'Mine', odooVersion: '17.0' }],
      ['GET', `/api/v1/odoo-templates/${template.id}`],
      ['PATCH', `/api/v1/odoo-templates/${template.id}`, { public: true }],
      ['DELETE', `/api/v1/odoo-templates/${template.id}`],
    ] as const) {
      const answer = await asOwner(method, url, body);
      expect(answer.statusCode, `${method} ${url}`).toBe(403);
      expect(answer.json().error.code).toBe('MARINA_E_FORBIDDEN');
    }
    const token = await asOwner('POST', '/api/v1/tokens', { name: 'acme only', organizationId });
    expect(token.statusCode, token.body).toBe(201);
    const scoped = withToken(t, token.json().secret);
    for (const [method, url, body] of [
      ['GET', '/api/v1/odoo-templates'],
      ['POST', '/api/v1/odoo-templates', { slug: 'viatoken', name: 'Token', odooVersion: '17.0' }],
      ['PATCH', `/api/v1/odoo-templates/${template.id}`, { public: true }],
      ['DELETE', `/api/v1/odoo-templates/${template.id}`],
    ] as const) {
      const answer = await scoped(method, url, body);
      expect(answer.json().error?.code, `${method} ${url}`).toBe('MARINA_E_TOKEN_SCOPE');
    }
    const still = await t.db
      .selectFrom('odoo_templates')
      .select(['public'])
      .where('id', '=', template.id)
      .executeTakeFirstOrThrow();
    expect(still.public).toBe(false);
    expect(
      await t.db.selectFrom('odoo_templates').select('id').where('slug', 'in', ['mine', 'viatoken']).execute(),
    ).toEqual([]);
  });

  it('hashes the recipe: canonical JSON of version, sorted modules, language, country, demo', async () => {
    const recipe = { odooVersion: '17.0', modules: ['stock', 'crm'], language: 'nl_BE', country: 'BE', demo: false };
    const first = await makeTemplate(recipe);
    const expected = createHash('sha256')
      .update(
        JSON.stringify({ version: '17.0', modules: ['crm', 'stock'], language: 'nl_BE', country: 'BE', demo: false }),
      )
      .digest('hex');
    expect(first.contentHash).toBe(expected);
    // The same recipe under another name, modules in another order and base listed: the same hash.
    const same = await makeTemplate({
      ...recipe,
      name: 'Other name',
      modules: ['crm', 'base', 'stock'],
      public: false,
    });
    expect(same.contentHash).toBe(first.contentHash);
    // Names, descriptions, order and visibility are not the recipe.
    const renamed = await call('PATCH', `/api/v1/odoo-templates/${first.id}`, {
      name: 'Renamed',
      sort: 9,
      public: false,
    });
    expect(renamed.json().template.contentHash).toBe(first.contentHash);
    // Each part of the recipe changes it.
    const hashes = new Set([first.contentHash]);
    for (const change of [
      { modules: ['crm'] },
      { language: 'fr_BE' },
      { country: null },
      { demo: true },
      { odooVersion: '18.0' },
    ]) {
      const changed = await call('PATCH', `/api/v1/odoo-templates/${same.id}`, { ...recipe, ...change });
      expect(changed.statusCode, changed.body).toBe(200);
      hashes.add(changed.json().template.contentHash);
    }
    expect(hashes.size).toBe(6);
    // And back: the hash is a function of the recipe alone.
    const back = await call('PATCH', `/api/v1/odoo-templates/${same.id}`, recipe);
    expect(back.json().template.contentHash).toBe(first.contentHash);
    const row = await t.db
      .selectFrom('odoo_templates')
      .select('content_hash')
      .where('id', '=', same.id)
      .executeTakeFirstOrThrow();
    expect(row.content_hash).toBe(first.contentHash);
  });
});

describe('removing a template', () => {
  it('deletes one nobody used, archives one an instance was made with', async () => {
    const unused = await makeTemplate();
    const removed = await call('DELETE', `/api/v1/odoo-templates/${unused.id}`);
    expect(removed.statusCode, removed.body).toBe(200);
    expect(removed.json()).toEqual({ removed: true, template: null });
    expect(await t.db.selectFrom('odoo_templates').select('id').where('id', '=', unused.id).execute()).toEqual([]);
    expect((await auditOf(unused.id)).map((a) => a.action)).toEqual(['odoo_template.create', 'odoo_template.delete']);

    const used = await makeTemplate({ modules: ['crm'] });
    const instance = await call('POST', '/api/v1/instances', {
      project: projectId,
      name: 'with-tpl',
      stage: 'development',
      memoryMb: 768,
      adminLogin: 'o@acme.test',
      templateId: used.id,
    });
    expect(instance.statusCode, instance.body).toBe(202);
    const archived = await call('DELETE', `/api/v1/odoo-templates/${used.id}`);
    expect(archived.statusCode, archived.body).toBe(200);
    expect(archived.json()).toMatchObject({ removed: false, template: { id: used.id, instances: 1 } });
    expect(archived.json().template.archivedAt).not.toBeNull();
    // No longer offered, not listed unless asked, and the instance still says what it was made with.
    const usable = (await as(t, owner)('GET', '/api/v1/odoo-templates/usable')).json().templates;
    expect(usable.map((x: Template) => x.id)).not.toContain(used.id);
    expect(await t.services.templates.usable(used.id)).toBeNull();
    const listed = (await call('GET', '/api/v1/odoo-templates')).json().templates;
    expect(listed.map((x: Template) => x.id)).not.toContain(used.id);
    const all = (await call('GET', '/api/v1/odoo-templates?archived=true')).json().templates;
    expect(all.map((x: Template) => x.id)).toContain(used.id);
    const row = await t.services.instances.row(instance.json().instance.id);
    expect(row.template_id).toBe(used.id);
    const audit = await auditOf(used.id);
    expect(audit.at(-1)).toMatchObject({
      action: 'odoo_template.delete',
      details: { archived: true, usedBy: { instances: 1, signups: 0 } },
    });
  });
});

describe('what sign-up and the instance form are offered', () => {
  it('lists public, not archived templates in order, and `usable` answers only those', async () => {
    const late = await makeTemplate({ name: 'Zeta', sort: 20 });
    const early = await makeTemplate({ name: 'Alpha', sort: -20 });
    const hidden = await makeTemplate({ public: false });
    const list = await t.services.templates.publicList();
    const ids = list.map((x) => x.id);
    expect(ids.indexOf(early.id)).toBeLessThan(ids.indexOf(late.id));
    expect(ids).not.toContain(hidden.id);
    expect(Object.keys(list[0] ?? {}).sort()).toEqual(
      ['country', 'demo', 'description', 'id', 'language', 'modules', 'name', 'odooVersion', 'slug'].sort(),
    );
    expect((await t.services.templates.usable(early.id))?.id).toBe(early.id);
    expect(await t.services.templates.usable(hidden.id)).toBeNull();
    expect(await t.services.templates.usable('not-a-uuid')).toBeNull();
  });
});

describe('POST /instances with a template', () => {
  const ask = (who: Browser, name: string, fields: Record<string, unknown>) =>
    as(t, who)('POST', '/api/v1/instances', {
      project: projectId,
      name,
      stage: 'development',
      memoryMb: 768,
      adminLogin: 'o@acme.test',
      ...fields,
    });

  it('takes the template’s language and country unless the input gives its own, and records it', async () => {
    const template = await makeTemplate({ modules: ['crm'], language: 'fr_FR', country: 'BE' });
    const inherited = await ask(owner, 'inherits', { templateId: template.id });
    expect(inherited.statusCode, inherited.body).toBe(202);
    const row = await t.services.instances.row(inherited.json().instance.id);
    expect(row).toMatchObject({ template_id: template.id, language: 'fr_FR', country: 'BE' });

    const own = await ask(owner, 'own', { templateId: template.id, language: 'nl_BE', country: 'NL' });
    expect(own.statusCode, own.body).toBe(202);
    expect(await t.services.instances.row(own.json().instance.id)).toMatchObject({
      template_id: template.id,
      language: 'nl_BE',
      country: 'NL',
    });

    const none = await ask(owner, 'none', {});
    expect(none.statusCode, none.body).toBe(202);
    expect(await t.services.instances.row(none.json().instance.id)).toMatchObject({
      template_id: null,
      language: 'en_US',
      country: null,
    });
  });

  it('refuses a template of another Odoo version, naming both', async () => {
    const v18 = await makeTemplate({ name: 'Eighteen', odooVersion: '18.0' });
    const answer = await ask(owner, 'mismatch', { templateId: v18.id });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().error.message).toBe(
      'The template "Eighteen" is made for Odoo 18.0; the project erp runs Odoo 17.0.',
    );
    expect(answer.json().error.details).toMatchObject({
      field: 'templateId',
      templateVersion: '18.0',
      projectVersion: '17.0',
    });
    expect(await t.db.selectFrom('instances').select('id').where('name', '=', 'mismatch').execute()).toEqual([]);
  });

  it('lets members use only usable templates; a platform admin may use any', async () => {
    const hidden = await makeTemplate({ public: false });
    const archived = await makeTemplate();
    await t.db.updateTable('odoo_templates').set({ archived_at: new Date() }).where('id', '=', archived.id).execute();
    for (const template of [hidden, archived]) {
      const refused = await ask(owner, `refused-${template.slug}`, { templateId: template.id });
      expect(refused.statusCode, refused.body).toBe(404);
      expect(refused.json().error.message).toBe('Odoo template not found.');
    }
    const missing = await ask(owner, 'missing', { templateId: '00000000-0000-4000-8000-000000000000' });
    expect(missing.statusCode).toBe(404);
    const malformed = await ask(owner, 'malformed', { templateId: 'nope' });
    expect(malformed.statusCode).toBe(400);
    const byAdmin = await ask(admin, 'by-admin', { templateId: hidden.id });
    expect(byAdmin.statusCode, byAdmin.body).toBe(202);
    expect((await t.services.instances.row(byAdmin.json().instance.id)).template_id).toBe(hidden.id);
  });
});
