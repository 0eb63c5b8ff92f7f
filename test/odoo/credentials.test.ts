import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { odooSession } from './odoo-session.js';

/**
 * Whatever Marina shows as an instance's credentials logs in to REAL Odoo 17 (ODOO_SOURCE): after
 * a clone, after an import into a new instance and over an existing one, and after "Reset admin
 * password". src/modules/instances/admin-password.test.ts runs the same flows on the stand-in.
 */
const source = odooSource();
const fixtureZip = join(
  process.env.MARINA_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures'),
  'odoo-backups',
  'odoo17-database-manager.zip',
);
const hasFixture = existsSync(fixtureZip);

type InstanceView = { id: string; url: string; dbName: string; name: string; adminLogin: string };
type Revealed = {
  url: string | null;
  login: string;
  password: string | null;
  origin: { source: string; from: string | null; at: string | null };
};

describe.skipIf(!source)('real Odoo 17: the credentials Marina shows log in', () => {
  const namespace = testNamespace();
  let t: TestApp;
  let admin: Browser;
  let baseUrl: string;
  let headers: Record<string, string>;
  let production: InstanceView;
  let productionPassword: string;
  let projectId: string;

  async function succeeded(jobId: string, timeoutMs = 240_000) {
    const followed = await followJob(baseUrl, headers, jobId, timeoutMs);
    if (followed.job.status !== 'succeeded') console.log(followed.logs.slice(-40).join('\n'));
    expect(followed.job.error).toBeNull();
    expect(followed.job.status).toBe('succeeded');
  }

  async function reveal(id: string): Promise<Revealed> {
    const res = await as(t, admin)('POST', `/api/v1/instances/${id}/credentials`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().credentials;
  }

  async function resetPassword(id: string): Promise<Revealed> {
    const res = await as(t, admin)('POST', `/api/v1/instances/${id}/admin-password`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().credentials;
  }

  async function instanceOf(id: string): Promise<InstanceView> {
    return (await as(t, admin)('GET', `/api/v1/instances/${id}`)).json().instance;
  }

  /** Odoo's own answer to a login, as its web client asks: the uid, or Odoo's error. */
  async function logsIn(instance: InstanceView, login: string, password: string): Promise<number | undefined> {
    const answer = await rpcLogin(instance.url, instance.dbName, login, password);
    return answer.result?.uid;
  }

  function importZip(query: string, body: Buffer) {
    return fetch(`${baseUrl}/api/v1/imports?${query}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/zip' },
      body,
    });
  }

  beforeAll(async () => {
    await requireDocker();
    await docker.getImage(TEST_IMAGES.runtime).inspect();
    ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime,
      MARINA_ODOO_17_SOURCE: source ?? '',
    }));
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
    expect(created.statusCode, created.body).toBe(202);
    await succeeded(created.json().job.id, 300_000);
    production = await instanceOf(created.json().instance.id);
    productionPassword = created.json().credentials.password;
  }, 360_000);

  afterAll(async () => {
    await t?.close();
    await removeNamespace(namespace);
  });

  it("after a clone into staging, shows production's login and password, which log in to the copy", {
    timeout: 300_000,
  }, async () => {
    const clone = await as(t, admin)('POST', `/api/v1/instances/${production.id}/clone`, {
      newInstance: { project: projectId, name: 'staging', stage: 'staging', adminLogin: 'dev@acme.test' },
    });
    expect(clone.statusCode, clone.body).toBe(202);
    await succeeded(clone.json().job.id);
    const staging = await instanceOf(clone.json().instance.id);
    const shown = await reveal(staging.id);
    expect(shown.origin).toMatchObject({ source: 'copied', from: 'erp/prod' });
    expect(shown.login).toBe('owner@acme.test');
    expect(shown.password).toBe(productionPassword);
    expect(await logsIn(staging, shown.login, shown.password ?? '')).toBe(2);
    // The login the clone form asked for is no user of the copy: Marina does not show it.
    expect(await logsIn(staging, 'dev@acme.test', shown.password ?? '')).toBeUndefined();

    // A reset gives the copy its own password; production keeps its own.
    const fresh = await resetPassword(staging.id);
    expect(fresh).toMatchObject({ login: 'owner@acme.test', origin: { source: 'reset' } });
    expect(fresh.password).not.toBe(productionPassword);
    await odooSession(staging.url, staging.dbName, fresh.login, fresh.password ?? '');
    expect(await logsIn(staging, fresh.login, productionPassword)).toBeUndefined();
    expect(await logsIn(production, 'owner@acme.test', productionPassword)).toBe(2);
    expect((await reveal(staging.id)).password).toBe(fresh.password);
  });

  it.skipIf(!hasFixture)(
    "after an import into a new instance, shows the database's own administrator and no password it does not know; a reset logs in",
    { timeout: 300_000 },
    async () => {
      const imported = await importZip(
        `project=${projectId}&name=imported&stage=staging&adminLogin=dev%40acme.test`,
        await readFile(fixtureZip),
      );
      const answer = (await imported.json()) as { job: { id: string }; instance: { id: string } };
      expect(imported.status, JSON.stringify(answer)).toBe(202);
      await succeeded(answer.job.id);
      const copy = await instanceOf(answer.instance.id);
      const shown = await reveal(copy.id);
      // The fixture was made by Odoo's database manager: its administrator is admin/admin.
      expect(shown).toMatchObject({ login: 'admin', password: null, origin: { source: 'imported' } });
      expect(copy.adminLogin).toBe('admin');
      expect(await logsIn(copy, shown.login, 'admin')).toBe(2);
      expect(await logsIn(copy, 'dev@acme.test', 'admin')).toBeUndefined();

      const fresh = await resetPassword(copy.id);
      expect(fresh.login).toBe('admin');
      expect(await logsIn(copy, fresh.login, fresh.password ?? '')).toBe(2);
      expect(await logsIn(copy, 'admin', 'admin')).toBeUndefined();
      // Other users keep their passwords.
      expect(await logsIn(copy, 'demo', 'demo')).toBe(6);
    },
  );

  it.skipIf(!hasFixture)(
    "after an import over an existing instance, no longer shows its old credentials (the database's users are the file's); a reset logs in",
    { timeout: 300_000 },
    async () => {
      const before = await reveal(production.id);
      expect(before.password).not.toBeNull();
      const imported = await importZip(`instance=${production.id}&confirm=prod`, await readFile(fixtureZip));
      const answer = (await imported.json()) as { job: { id: string } };
      expect(imported.status, JSON.stringify(answer)).toBe(202);
      await succeeded(answer.job.id);
      const shown = await reveal(production.id);
      expect(shown).toMatchObject({ login: 'admin', password: null, origin: { source: 'imported' } });
      // What the old record said no longer opens the database.
      expect(await logsIn(production, before.login, before.password ?? '')).toBeUndefined();
      expect(await logsIn(production, 'admin', 'admin')).toBe(2);

      const fresh = await resetPassword(production.id);
      await odooSession(production.url, production.dbName, fresh.login, fresh.password ?? '');
      expect(await logsIn(production, fresh.login, fresh.password ?? '')).toBe(2);
    },
  );
});
