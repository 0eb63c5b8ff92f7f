import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/adapters/postgres/admin.js';
import { as, type Browser, sessionCookie } from '../helpers/app.js';
import { docker, TEST_IMAGES } from '../helpers/docker.js';
import { edgeRequest } from '../helpers/edge-client.js';
import { odooSource } from '../helpers/odoo.js';
import { links } from '../helpers/smtp-capture.js';
import { type SignupWorld, startSignupWorld } from '../signup-support.js';

/**
 * #19's real-Odoo check: a stranger signs up with a template (REAL Odoo 17 from ODOO_SOURCE) that
 * installs `test_convert` in French for Belgium; after the emailed link, Marina makes the
 * organization, the trial and the instance at `<subdomain>.<base>`; Odoo has the module, the
 * language and the company, and the credentials the customer is shown once log in to Odoo through
 * the edge. The stand-in version: test/signup.test.ts; the template alone: test/odoo/templates.test.ts.
 */
const source = odooSource();
const BASE = 'signup-odoo.test';
const PUBLIC_URL = 'https://marina.signup-odoo.test';
const EMAIL = 'owner@brasserie.test';

/** Ports of its own, away from the range other test runs of the same worker number take. */
const ownPorts = () => {
  const from = 30000 + Math.floor(Math.random() * 200) * 100;
  return `${from}-${from + 99}`;
};

describe.skipIf(!source)('real Odoo 17: sign-up with a template', () => {
  let world: SignupWorld;

  beforeAll(async () => {
    await docker.getImage(TEST_IMAGES.runtime).inspect();
    world = await startSignupWorld({
      baseDomain: BASE,
      publicUrl: PUBLIC_URL,
      env: {
        MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime,
        MARINA_ODOO_17_SOURCE: source ?? '',
        MARINA_INSTANCE_PORTS: ownPorts(),
      },
    });
  }, 300_000);

  afterAll(async () => {
    await world?.close();
  });

  /** The instance's database, read as its own role (never a superuser in a tenant's database). */
  async function tenant<T>(instanceId: string, sql: string): Promise<T[]> {
    const row = await world.t.services.instances.row(instanceId);
    const connection = await world.t.services.databaseServers.forInstance(row);
    return withClient(connection, row.db_name, async (db) => (await db.query(sql)).rows as T[]);
  }

  it('signs up, verifies by mail, and the template’s Odoo logs in with the credentials shown once', {
    timeout: 600_000,
  }, async () => {
    const { t, admin } = world;
    const call = as(t, admin);
    await world.setSmtp();
    const opened = await call('PUT', '/api/v1/settings/signup', {
      enabled: true,
      refusedDomains: [],
      reservedNames: [],
      perAddressPerDay: 5,
      perDomainPerDay: 5,
      perIpPerHour: 5,
    });
    expect(opened.statusCode, opened.body).toBe(200);
    const template = await call('POST', '/api/v1/odoo-templates', {
      slug: 'brasserie-be',
      name: 'Brasserie (Belgium, French)',
      description: 'A Belgian company in French, with the converter test module.',
      odooVersion: '17.0',
      modules: ['test_convert'],
      language: 'fr_FR',
      country: 'BE',
      companyNameFromOrg: true,
      demo: false,
      public: true,
    });
    expect(template.statusCode, template.body).toBe(201);

    const asked = await world.post(
      '/api/v1/signup',
      {
        ...world.form(EMAIL, 'brasserie'),
        organizationName: 'Brasserie Lambic',
        templateId: template.json().template.id,
        locale: 'fr',
      },
      '10.77.0.1',
    );
    expect(asked.statusCode, asked.body).toBe(202);
    const token = await world.tokenFor(EMAIL);
    const verified = await world.verify(token, undefined, '10.77.0.1');
    expect(verified.statusCode, verified.body).toBe(200);
    const { instanceId, jobId, credentialsToken, csrfToken, user } = verified.json<{
      instanceId: string;
      jobId: string;
      credentialsToken: string;
      csrfToken: string;
      user: { id: string };
    }>();
    const owner: Browser = { cookie: sessionCookie(verified), csrf: csrfToken, userId: user.id };
    expect(await world.jobEnded(jobId)).toBe('succeeded');

    // What the customer is shown once, as the signed-in owner.
    const opening = await as(t, owner)('POST', '/api/v1/credential-links/open', { token: credentialsToken });
    expect(opening.statusCode, opening.body).toBe(200);
    const shown = opening.json<{ instance: { url: string }; login: string; password: string }>();
    expect(shown.instance.url).toContain(`brasserie.${BASE}`);
    expect(shown.login).toBe(EMAIL);

    // Odoo: the template's module, language, country and company.
    const modules = await tenant<{ name: string; state: string }>(
      instanceId,
      "SELECT name, state FROM ir_module_module WHERE name = 'test_convert'",
    );
    expect(modules).toEqual([{ name: 'test_convert', state: 'installed' }]);
    expect(await tenant(instanceId, "SELECT code FROM res_lang WHERE active AND code = 'fr_FR'")).toEqual([
      { code: 'fr_FR' },
    ]);
    const partner = await tenant<{ lang: string }>(
      instanceId,
      `SELECT p.lang FROM res_users u JOIN res_partner p ON p.id = u.partner_id WHERE u.login = '${EMAIL}'`,
    );
    expect(partner).toEqual([{ lang: 'fr_FR' }]);
    const company = await tenant<{ name: string; country: string }>(
      instanceId,
      `SELECT c.name, k.code AS country FROM res_company c
         JOIN ir_model_data d ON d.res_id = c.id AND d.model = 'res.company' AND d.module = 'base' AND d.name = 'main_company'
         JOIN res_partner p ON p.id = c.partner_id LEFT JOIN res_country k ON k.id = p.country_id`,
    );
    expect(company).toEqual([{ name: 'Brasserie Lambic', country: 'BE' }]);

    // The credentials log in to Odoo through the edge, at the subdomain the customer chose.
    await t.services.edge.flush();
    const row = await t.services.instances.row(instanceId);
    const login = await edgeRequest(world.stack, {
      hostname: `brasserie.${BASE}`,
      path: '/web/session/authenticate',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        method: 'call',
        params: { db: row.db_name, login: shown.login, password: shown.password },
      }),
      timeoutMs: 60_000,
    });
    expect(login.status, login.body).toBe(200);
    const answer = JSON.parse(login.body) as { result?: { uid: number }; error?: unknown };
    expect(answer.error, JSON.stringify(answer.error)).toBeUndefined();
    expect(answer.result?.uid).toBe(2);

    // The welcome mail carries a link to the credentials, never the password itself.
    await world.t.services.signupTicker.tick();
    const welcome = (await world.mailsTo(EMAIL)).find((m) => links(m).some((l) => l.includes('/credentials#token=')));
    expect(welcome, 'welcome mail').toBeDefined();
    expect(JSON.stringify(welcome)).not.toContain(shown.password);
  });
});
