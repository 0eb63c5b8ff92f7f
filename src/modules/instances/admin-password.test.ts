import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, memberBrowser, type TestApp } from '../../../test/helpers/app.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { requestInstance } from '../../../test/helpers/factories.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { rpcLogin } from '../../../test/helpers/odoo.js';
import { withClient } from '../../adapters/postgres/admin.js';
import { odooPasswordHash } from '../../odoo/password.js';

/**
 * What "Reveal credentials" says after a clone and an import, and "Reset admin password", against
 * the real Docker engine and PostgreSQL with Marina's Odoo STAND-IN (test/standin), which checks
 * passwords against Odoo's pbkdf2 hashes as Odoo does. test/odoo/credentials.test.ts proves the
 * same against real Odoo 17.
 */
const namespace = testNamespace();
const fixtureZip = join(
  process.env.MARINA_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures'),
  'odoo-backups',
  'odoo17-database-manager.zip',
);

type InstanceView = {
  id: string;
  url: string;
  name: string;
  dbName: string;
  adminLogin: string;
  projectId: string;
  createdAt: string;
};
type Revealed = {
  url: string | null;
  login: string;
  password: string | null;
  masterPassword: string;
  origin: { source: string; from: string | null; at: string | null; passwordKnown: boolean };
};

let t: TestApp;
let admin: Browser;
let baseUrl: string;
let headers: Record<string, string>;
let production: InstanceView;
let productionPassword: string;
let projectId: string;

async function reveal(id: string): Promise<Revealed> {
  const res = await as(t, admin)('POST', `/api/v1/instances/${id}/credentials`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().credentials;
}

async function instanceOf(id: string): Promise<InstanceView & { credentialsOrigin: Revealed['origin'] }> {
  return (await as(t, admin)('GET', `/api/v1/instances/${id}`)).json().instance;
}

async function succeeded(jobId: string) {
  const { job } = await followJob(baseUrl, headers, jobId, 180_000);
  expect(job.error).toBeNull();
  expect(job.status).toBe('succeeded');
}

/** As the superuser: what a user does inside Odoo (changing a password) without Marina knowing. */
async function asOdooUser(db: string, text: string, values: unknown[]): Promise<void> {
  const server = await t.services.databaseServers.forInstances('local');
  await withClient(await t.services.databaseServers.connection(server), db, (c) => c.query(text, values));
}

function importZip(query: string, body: Buffer) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/imports?${query}`,
    headers: { cookie: admin.cookie, 'x-marina-csrf': admin.csrf, 'content-type': 'application/zip' },
    payload: body,
  });
}

beforeAll(async () => {
  await requireDocker();
  ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin }));
  const provisioned = await provisionInstance({ t, admin, baseUrl, headers }, { name: 'prod' });
  productionPassword = provisioned.password;
  production = await instanceOf(provisioned.instance.id);
  projectId = production.projectId;
}, 180_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

describe('credentials after copies (stand-in Odoo)', () => {
  it("after a clone, says the copy has the source's users as of the clone, and shows the source's password because it opens the copy", async () => {
    const clone = await as(t, admin)('POST', `/api/v1/instances/${production.id}/clone`, {
      newInstance: { project: projectId, name: 'staging', stage: 'staging', adminLogin: 'dev@acme.test' },
    });
    expect(clone.statusCode, clone.body).toBe(202);
    await succeeded(clone.json().job.id);
    const staging = await instanceOf(clone.json().instance.id);
    const shown = await reveal(staging.id);
    // The copy's administrator is production's (the users were copied), not the form's login.
    expect(shown.login).toBe(production.adminLogin);
    expect(shown.password).toBe(productionPassword);
    expect(shown.origin).toMatchObject({ source: 'copied', from: `erp/${production.name}` });
    // The time of the clone's snapshot, by Marina's clock (a test clock, standing still here).
    expect(shown.origin.at).toBe(t.clock.now().toISOString());
    expect(staging.credentialsOrigin).toEqual(shown.origin);
    expect(shown.origin.passwordKnown).toBe(true);
    expect(staging.adminLogin).toBe(production.adminLogin);
    const login = await rpcLogin(staging.url, staging.dbName, shown.login, shown.password ?? '');
    expect(login.error).toBeUndefined();
    expect(login.result?.uid).toBe(2);
  }, 240_000);

  it('after a clone whose source password was changed in Odoo, says it does not know the password (null, never a stale one); a reset makes one that logs in', async () => {
    // Someone changed production's admin password inside Odoo: Marina's record is now stale.
    await asOdooUser(production.dbName, 'UPDATE res_users SET password = $1 WHERE id = 2', [
      await odooPasswordHash('changed-inside-odoo', 1000),
    ]);
    const clone = await as(t, admin)('POST', `/api/v1/instances/${production.id}/clone`, {
      newInstance: { project: projectId, name: 'staging2', stage: 'staging', adminLogin: 'dev@acme.test' },
    });
    expect(clone.statusCode, clone.body).toBe(202);
    await succeeded(clone.json().job.id);
    const staging = await instanceOf(clone.json().instance.id);
    const shown = await reveal(staging.id);
    expect(shown.password).toBeNull();
    expect(shown.origin.passwordKnown).toBe(false);
    expect(shown.login).toBe(production.adminLogin);
    expect(shown.origin.source).toBe('copied');
    expect((await rpcLogin(staging.url, staging.dbName, shown.login, 'changed-inside-odoo')).result?.uid).toBe(2);

    const reset = await as(t, admin)('POST', `/api/v1/instances/${staging.id}/admin-password`);
    expect(reset.statusCode, reset.body).toBe(200);
    const fresh: Revealed = reset.json().credentials;
    expect(fresh.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(fresh.origin).toMatchObject({ source: 'reset', from: null });
    expect(await reveal(staging.id)).toMatchObject({ login: shown.login, password: fresh.password });
    expect((await rpcLogin(staging.url, staging.dbName, fresh.login, fresh.password ?? '')).result?.uid).toBe(2);
    expect((await rpcLogin(staging.url, staging.dbName, shown.login, 'changed-inside-odoo')).result).toBeUndefined();
    // Production is untouched by the copy's reset.
    expect(
      (await rpcLogin(production.url, production.dbName, production.adminLogin, 'changed-inside-odoo')).result?.uid,
    ).toBe(2);
    const events = (await as(t, admin)('GET', '/api/v1/audit?organization=acme')).json().events as {
      action: string;
      target: { id: string } | null;
    }[];
    expect(events.some((e) => e.action === 'instance.reset_admin_password' && e.target?.id === staging.id)).toBe(true);
  }, 240_000);

  it.skipIf(!existsSync(fixtureZip))(
    "after an import into a new instance, says the database keeps the file's users (login from the database, password unknown); a reset logs in",
    async () => {
      const imported = await importZip(
        `project=${projectId}&name=imported&stage=staging&adminLogin=dev%40acme.test`,
        await readFile(fixtureZip),
      );
      expect(imported.statusCode, imported.body).toBe(202);
      await succeeded(imported.json().job.id);
      const copy = await instanceOf(imported.json().instance.id);
      const shown = await reveal(copy.id);
      // The fixture's administrator is admin/admin (Odoo's database manager made it).
      expect(shown).toMatchObject({ login: 'admin', password: null });
      expect(shown.origin.source).toBe('imported');
      expect(shown.origin.at).not.toBeNull();
      // What Marina shows is true: the login it shows is the database's, and its own password works.
      expect((await rpcLogin(copy.url, copy.dbName, shown.login, 'admin')).result?.uid).toBe(2);
      // The importing user's email is no login of the imported database.
      expect((await rpcLogin(copy.url, copy.dbName, 'dev@acme.test', 'admin')).result).toBeUndefined();

      const reset = (await as(t, admin)('POST', `/api/v1/instances/${copy.id}/admin-password`)).json().credentials;
      expect(reset.login).toBe('admin');
      expect((await rpcLogin(copy.url, copy.dbName, reset.login, reset.password)).result?.uid).toBe(2);
    },
    240_000,
  );

  it.skipIf(!existsSync(fixtureZip))(
    "after an import over an existing instance, no longer shows that instance's old credentials",
    async () => {
      const made = await requestInstance(as(t, admin), { project: projectId, name: 'target' });
      await succeeded(made.job.id);
      const before = await reveal(made.instance.id);
      expect(before).toMatchObject({
        login: 'o@acme.test',
        password: made.credentials.password,
        origin: { source: 'generated' },
      });
      const imported = await importZip(`instance=${made.instance.id}`, await readFile(fixtureZip));
      expect(imported.statusCode, imported.body).toBe(202);
      await succeeded(imported.json().job.id);
      const copy = await instanceOf(made.instance.id);
      const shown = await reveal(copy.id);
      expect(shown).toMatchObject({ login: 'admin', password: null, origin: { source: 'imported' } });
      // The old credentials are indeed gone from the database: showing them would be untrue.
      expect((await rpcLogin(copy.url, copy.dbName, 'o@acme.test', made.credentials.password)).result).toBeUndefined();
      expect((await rpcLogin(copy.url, copy.dbName, 'admin', 'admin')).result?.uid).toBe(2);
    },
    240_000,
  );

  it('a reset is for organization admins, and not while a job holds the instance', async () => {
    const member = await memberBrowser(t, admin, 'acme', 'viewer@acme.test', 'member');
    const refused = await as(t, member)('POST', `/api/v1/instances/${production.id}/admin-password`);
    expect(refused.statusCode).toBe(403);
    const stop = await as(t, admin)('POST', `/api/v1/instances/${production.id}/restart`, {});
    expect(stop.statusCode, stop.body).toBe(202);
    const busy = await as(t, admin)('POST', `/api/v1/instances/${production.id}/admin-password`);
    expect(busy.statusCode).toBe(409);
    expect(busy.json().error.code).toBe('MARINA_E_INSTANCE_BUSY');
    await succeeded(stop.json().job.id);
  }, 120_000);
});
