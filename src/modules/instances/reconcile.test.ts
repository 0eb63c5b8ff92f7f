import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, memberBrowser, type TestApp } from '../../../test/helpers/app.js';
import {
  docker,
  namespaceObjects,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { makeProject, requestInstance } from '../../../test/helpers/factories.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { rpcLogin } from '../../../test/helpers/odoo.js';

/** Reconciliation with the real Docker engine and the Odoo stand-in: orphans listed, adopted, removed. */
const namespace = testNamespace();
let t: TestApp;
let admin: Browser;
let baseUrl: string;
const headers = () => ({ cookie: admin.cookie, 'x-marina-csrf': admin.csrf });

beforeAll(async () => {
  await requireDocker();
  ({ t, admin, baseUrl } = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin }));
}, 120_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

describe('reconciliation', () => {
  it('lists what Marina lost track of, adopts it back, and the instance works as before', {
    timeout: 120_000,
  }, async () => {
    const project = await makeProject(as(t, admin));
    const created = await requestInstance(as(t, admin), { project: project.id });
    expect((await followJob(baseUrl, headers(), created.job.id)).job.status).toBe('succeeded');
    const before = (await as(t, admin)('GET', `/api/v1/instances/${created.instance.id}`)).json().instance;
    expect((await as(t, admin)('GET', '/api/v1/reconcile')).json()).toEqual({
      orphans: [],
      missing: [],
      unreachableHosts: [],
    });

    // Marina's database restored from before this instance existed: its record is gone.
    await t.db.deleteFrom('instances').where('id', '=', before.id).execute();
    const report = (await as(t, admin)('GET', '/api/v1/reconcile')).json();
    const short = before.id.replace(/-/g, '').slice(0, 16);
    expect(report.orphans.map((o: { kind: string; name: string }) => `${o.kind}:${o.name}`).sort()).toEqual(
      [
        `container:${namespace}-odoo-${short}`,
        `database:${before.dbName}`,
        `volume:${namespace}-filestore-${short}`,
      ].sort(),
    );
    const container = report.orphans.find((o: { kind: string }) => o.kind === 'container');
    expect(container.madeFor).toBe(before.id);

    const adopted = await as(t, admin)('POST', '/api/v1/reconcile/adopt', { hostId: 'local', name: container.name });
    expect(adopted.statusCode).toBe(200);
    expect(adopted.json().instance).toMatchObject({
      id: before.id,
      name: 'main',
      stage: 'staging',
      projectId: project.id,
      dbName: before.dbName,
      url: before.url,
      adminLogin: 'o@acme.test',
      status: 'running',
      memoryMb: 768,
    });
    expect((await as(t, admin)('GET', '/api/v1/reconcile')).json().orphans).toEqual([]);
    const audit = (await as(t, admin)('GET', '/api/v1/audit?action=instance.adopt')).json().events;
    expect(audit[0]).toMatchObject({ action: 'instance.adopt', target: { id: before.id } });

    // It is Marina's again: a restart recreates nothing and the customer still logs in.
    const restart = await as(t, admin)('POST', `/api/v1/instances/${before.id}/restart`, {});
    expect((await followJob(baseUrl, headers(), restart.json().job.id)).job.status).toBe('succeeded');
    const login = await rpcLogin(before.url, before.dbName, 'o@acme.test', created.credentials.password);
    expect(login.result?.uid).toBeGreaterThan(0);
  });

  it('removes an orphan after checking again, and refuses what is not an orphan', async () => {
    await docker.createVolume({
      Name: `${namespace}-filestore-leftover`,
      Labels: { 'io.marina.managed': 'true', 'io.marina.namespace': namespace, 'io.marina.kind': 'odoo' },
    });
    const orphans = (await as(t, admin)('GET', '/api/v1/reconcile')).json().orphans;
    expect(orphans).toEqual([expect.objectContaining({ kind: 'volume', name: `${namespace}-filestore-leftover` })]);
    const known = (await namespaceObjects(namespace)).volumes.find(
      (v) => v.includes('-filestore-') && !v.endsWith('leftover'),
    );
    const refused = await as(t, admin)('POST', '/api/v1/reconcile/remove', {
      kind: 'volume',
      name: known,
      hostId: 'local',
    });
    expect(refused.statusCode).toBe(404);
    const removed = await as(t, admin)('POST', '/api/v1/reconcile/remove', {
      kind: 'volume',
      name: `${namespace}-filestore-leftover`,
      hostId: 'local',
    });
    expect(removed.statusCode).toBe(204);
    expect((await as(t, admin)('GET', '/api/v1/reconcile')).json().orphans).toEqual([]);
    expect((await namespaceObjects(namespace)).volumes).toContain(known);
  });

  it('is for platform admins only', async () => {
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    expect((await as(t, owner)('GET', '/api/v1/reconcile')).statusCode).toBe(403);
    expect(
      (await as(t, owner)('POST', '/api/v1/reconcile/remove', { kind: 'volume', name: 'x', hostId: 'local' }))
        .statusCode,
    ).toBe(403);
    expect((await as(t, owner)('POST', '/api/v1/reconcile/adopt', { name: 'x', hostId: 'local' })).statusCode).toBe(
      403,
    );
    const bad = await as(t, admin)('POST', '/api/v1/reconcile/remove', {
      kind: 'volume',
      name: '../etc',
      hostId: 'local',
    });
    expect(bad.statusCode).toBe(400);
  });
});
