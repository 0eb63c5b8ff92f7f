import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseExists, roleExists } from '../../src/adapters/postgres/admin.js';
import { as, type Browser, type TestApp } from '../helpers/app.js';
import {
  docker,
  namespaceObjects,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../helpers/docker.js';
import { followJob } from '../helpers/jobs.js';
import { odooSource, rpcLogin } from '../helpers/odoo.js';

/**
 * The instance lifecycle against REAL Odoo through Marina's API: 17.0 with ODOO_SOURCE (required
 * for the issue), and 18.0 / 19.0 when ODOO_SOURCE_18 / ODOO_SOURCE_19 point at those trees.
 */
const versions = [
  { version: '17.0', major: 17, source: odooSource() },
  { version: '18.0', major: 18, source: process.env.ODOO_SOURCE_18 },
  // The trimmed 19.0 lacks the `rpc` server-wide module: load base,web only.
  { version: '19.0', major: 19, source: process.env.ODOO_SOURCE_19, env: { MARINA_ODOO_19_LOAD: 'base,web' } },
];

for (const { version, major, source, env } of versions) {
  describe.skipIf(!source)(`real Odoo ${version} instances`, () => {
    const namespace = testNamespace();
    let t: TestApp;
    let admin: Browser;
    let baseUrl: string;
    const headers = () => ({ cookie: admin.cookie, 'x-marina-csrf': admin.csrf });
    let instance: { id: string; url: string; dbName: string; name: string };
    let credentials: { login: string; password: string };

    beforeAll(async () => {
      await requireDocker();
      await docker.getImage(TEST_IMAGES.runtime).inspect();
      ({ t, admin, baseUrl } = await startDockerMarina(namespace, {
        [`MARINA_ODOO_${major}_IMAGE`]: TEST_IMAGES.runtime,
        [`MARINA_ODOO_${major}_SOURCE`]: source ?? '',
        ...env,
      }));
    }, 120_000);

    afterAll(async () => {
      await t?.close();
      await removeNamespace(namespace);
    });

    it(`provisions Odoo ${version}, and the customer logs in with the credentials Marina gave`, {
      timeout: 240_000,
    }, async () => {
      const project = (
        await as(t, admin)('POST', '/api/v1/projects', { organization: 'acme', name: 'erp', odooVersion: version })
      ).json().project;
      const created = await as(t, admin)('POST', '/api/v1/instances', {
        project: project.id,
        name: 'main',
        stage: 'staging',
        cpus: 1,
        // 1 GB with 3 workers: the size that showed Odoo's limits are on virtual memory.
        memoryMb: 1024,
        adminLogin: 'owner@acme.test',
        country: 'BE',
      });
      expect(created.statusCode).toBe(202);
      const { job, logs } = await followJob(baseUrl, headers(), created.json().job.id, 240_000);
      expect(job.error).toBeNull();
      expect(job.status).toBe('succeeded');
      expect(
        logs.some((l) => /odoo\.modules\.loading: \d+ modules loaded/.test(l) || l.includes('Modules loaded')),
      ).toBe(true);
      instance = (await as(t, admin)('GET', `/api/v1/instances/${created.json().instance.id}`)).json().instance;
      credentials = created.json().credentials;

      expect(await (await fetch(`${instance.url}/web/health`)).json()).toEqual({ status: 'pass' });
      const login = await rpcLogin(instance.url, instance.dbName, credentials.login, credentials.password);
      expect(login.error).toBeUndefined();
      expect(login.result?.uid).toBe(2);

      // The sign-in left Odoo's session file where Marina counts sessions (marina_instance_odoo_sessions).
      await t.services.usage.measure(instance.id);
      const usage = await t.db
        .selectFrom('instance_usage')
        .select('odoo_sessions')
        .where('instance_id', '=', instance.id)
        .executeTakeFirstOrThrow();
      expect(usage.odoo_sessions).toBeGreaterThanOrEqual(1);
    });

    it('refuses admin/admin, and the database manager cannot be used from outside', async () => {
      const defaults = await rpcLogin(instance.url, instance.dbName, 'admin', 'admin');
      expect(defaults.error?.data.name).toBe('odoo.exceptions.AccessDenied');
      const manager = await fetch(`${instance.url}/web/database/manager`);
      expect(await manager.text()).toContain('The database manager has been disabled by the administrator');
      const list = await fetch(`${instance.url}/web/database/list`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: {} }),
      });
      expect(((await list.json()) as { error?: unknown }).error).toBeDefined();
      const drop = await fetch(`${instance.url}/web/database/drop`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ master_pwd: 'admin', name: instance.dbName }),
        redirect: 'manual',
      });
      expect(drop.status).not.toBe(303);
      expect((await rpcLogin(instance.url, instance.dbName, credentials.login, credentials.password)).result?.uid).toBe(
        2,
      );
    });

    it('stops, starts and restarts; status follows within a second', { timeout: 180_000 }, async () => {
      for (const [action, expected] of [
        ['stop', 'stopped'],
        ['start', 'running'],
        ['restart', 'running'],
      ] as const) {
        const res = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/${action}`, {});
        const { job } = await followJob(baseUrl, headers(), res.json().job.id, 120_000);
        expect(job.status, `${action}: ${JSON.stringify(job.error)}`).toBe('succeeded');
        expect((await t.services.instances.row(instance.id)).status).toBe(expected);
      }
      const seen: { status: string; at: number }[] = [];
      const listener = (view: { id: string; status: string }) => {
        if (view.id === instance.id) seen.push({ status: view.status, at: Date.now() });
      };
      t.services.instances.bus.on('instance', listener);
      const container = docker.getContainer(`${namespace}-odoo-${instance.id.replace(/-/g, '').slice(0, 16)}`);
      const before = Date.now();
      await container.stop({ t: 10 });
      const stopped = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      t.services.instances.bus.off('instance', listener);
      const change = seen.find((s) => s.status === 'stopped');
      expect(change).toBeDefined();
      expect((change?.at ?? Number.POSITIVE_INFINITY) - stopped).toBeLessThan(1000);
      expect(before).toBeLessThanOrEqual(stopped);
      const res = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/start`, {});
      expect((await followJob(baseUrl, headers(), res.json().job.id, 120_000)).job.status).toBe('succeeded');
      expect((await rpcLogin(instance.url, instance.dbName, credentials.login, credentials.password)).result?.uid).toBe(
        2,
      );
    });

    it('deletes everything: no container, volume, database or role is left', { timeout: 120_000 }, async () => {
      const res = await as(t, admin)('DELETE', `/api/v1/instances/${instance.id}`);
      expect((await followJob(baseUrl, headers(), res.json().job.id)).job.status).toBe('succeeded');
      const left = await namespaceObjects(namespace);
      expect(left.containers.filter((c) => c.includes('-odoo-'))).toEqual([]);
      expect(left.volumes.filter((v) => v.includes('-filestore-'))).toEqual([]);
      const server = await t.db.selectFrom('database_servers').selectAll().executeTakeFirstOrThrow();
      const connection = await t.services.databaseServers.connection(server);
      expect(await databaseExists(connection, instance.dbName)).toBe(false);
      expect(await roleExists(connection, instance.dbName)).toBe(false);
    });
  });
}
