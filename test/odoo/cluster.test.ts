/**
 * REAL Odoo 17 (ODOO_SOURCE) on the nodes of a real two-node Swarm (issue #16): provisioned where
 * placement puts it, backed up there, restored over itself there, moved to the other node and back, and, once its node is lost,
 * recovered on the other node from that backup; the customer logs in after each step and finds the
 * data of the backup. test/cluster/instances-on-nodes.test.ts runs the same flows on the stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as } from '../helpers/app.js';
import { removeNamespace, startDockerMarina, TEST_IMAGES, testNamespace } from '../helpers/docker.js';
import { followJob } from '../helpers/jobs.js';
import { odooSource, rpcLogin } from '../helpers/odoo.js';
import { canRunSwarmNodes as canRun, swarmNodes } from '../helpers/swarm-nodes.js';
import { until } from '../images-test-support.js';
import { callKw, odooSession, waitForOdoo } from './odoo-session.js';

const nodes = swarmNodes({
  MARINA_SWARM_DIR: '/var/lib/marina-odoo-cluster-test',
  MARINA_SWARM_PREFIX: 'marina-oc',
  MARINA_SWARM_SUBNET: '192.168.237',
  MARINA_SWARM_IMAGES: `${TEST_IMAGES.runtime} ${TEST_IMAGES.postgres}`,
});
const source = odooSource();

describe.skipIf(!source || !canRun)('real Odoo 17 on a two-node Swarm', () => {
  const namespace = testNamespace();
  let marina: Awaited<ReturnType<typeof startDockerMarina>>;
  let instance: { id: string; name: string; dbName: string };
  let credentials: { login: string; password: string };
  let partnerId = 0;
  const timings: Record<string, number> = {};
  const call = (...args: Parameters<ReturnType<typeof as>>) => as(marina.t, marina.admin)(...args);
  const row = () => marina.t.services.instances.row(instance.id);
  const urlOf = async () => {
    const url = await marina.t.services.instances.internalUrl(await row());
    if (!url) throw new Error('the instance has no address');
    return url;
  };
  const jobOf = async (response: { statusCode: number; body: string; json<T>(): T }, timeoutMs = 300_000) => {
    expect(response.statusCode, response.body).toBe(202);
    const id = response.json<{ job: { id: string } }>().job.id;
    const followed = await followJob(marina.baseUrl, marina.headers, id, timeoutMs);
    if (followed.job.status !== 'succeeded') console.log(followed.logs.slice(-40).join('\n'));
    expect(followed.job.status, JSON.stringify(followed.job.error)).toBe('succeeded');
  };
  /** Logs in as the customer and reads the partner the test wrote. */
  const loginAndRead = async () => {
    const url = await urlOf();
    await waitForOdoo(url, 120_000);
    const login = await rpcLogin(url, instance.dbName, credentials.login, credentials.password);
    expect(login.result?.uid, JSON.stringify(login.error)).toBeGreaterThan(0);
    const session = await odooSession(url, instance.dbName, credentials.login, credentials.password);
    const [partner] = await callKw<{ name: string }[]>(url, session, 'res.partner', 'read', [[partnerId], ['name']]);
    return { url, session, name: partner?.name };
  };

  beforeAll(async () => {
    let started = Date.now();
    const urls = (await nodes.up(2)).map((node) => node.url);
    timings.nodesUp = Date.now() - started;
    marina = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime,
      MARINA_ODOO_17_SOURCE: source ?? '',
      MARINA_CLUSTER_HEARTBEAT_S: '1',
      MARINA_CLUSTER_FOLLOW_S: '1',
    });
    marina.t.services.nodeFollower.start();
    for (const [i, name] of ['node1', 'node2'].entries()) {
      const added = await call('POST', '/api/v1/nodes', { name, dockerHost: urls[i], tls: nodes.tls() });
      expect(added.statusCode, added.body).toBe(201);
    }
    // Instances go to node2 only; node1, the manager, must outlive the worker this test loses.
    expect((await call('POST', '/api/v1/nodes/node1/drain', {})).statusCode).toBe(200);
    const project = (
      await call('POST', '/api/v1/projects', { organization: 'acme', name: 'erp', odooVersion: '17.0' })
    ).json<{ project: { id: string } }>().project;
    started = Date.now();
    const created = await call('POST', '/api/v1/instances', {
      project: project.id,
      name: 'prod',
      stage: 'production',
      cpus: 1,
      memoryMb: 1024,
      adminLogin: 'owner@acme.test',
    });
    await jobOf(created, 400_000);
    timings.provision = Date.now() - started;
    const made = created.json<{
      instance: { id: string; name: string; dbName: string };
      credentials: { login: string; password: string };
    }>();
    instance = made.instance;
    credentials = made.credentials;
  }, 600_000);

  afterAll(async () => {
    console.log(`real Odoo 17 on the cluster, timings (ms): ${JSON.stringify(timings)}`);
    await marina?.t.services.nodeFollower.stop();
    await marina?.t.close();
    await removeNamespace(namespace);
    await nodes.script('down');
  }, 180_000);

  it('runs on a node, and the customer logs in there', async () => {
    // node1 (the only manager) was drained: a lost worker is what can be recovered from.
    expect((await row()).host_id).toBe('node2');
    const { url, session } = await loginAndRead();
    partnerId = await callKw<number>(url, session, 'res.partner', 'create', [{ name: 'Backed up' }]);
    expect((await loginAndRead()).name).toBe('Backed up');
  }, 300_000);

  it('backs up on the node, restores over itself there, and the customer logs in to the backed-up data', async () => {
    let started = Date.now();
    await jobOf(await call('POST', `/api/v1/instances/${instance.id}/backups`, { kind: 'full', format: 'native' }));
    timings.backup = Date.now() - started;
    const { url, session } = await loginAndRead();
    await callKw(url, session, 'res.partner', 'write', [[partnerId], { name: 'Changed after' }]);
    expect((await loginAndRead()).name).toBe('Changed after');

    const [backup] = (await call('GET', `/api/v1/instances/${instance.id}/backups`)).json<{
      backups: { id: string }[];
    }>().backups;
    started = Date.now();
    await jobOf(
      await call('POST', `/api/v1/backups/${backup?.id}/restore`, { instanceId: instance.id, confirm: instance.name }),
    );
    timings.restore = Date.now() - started;
    expect((await loginAndRead()).name).toBe('Backed up');
  }, 400_000);

  it('moves to the other node and back while it serves; the customer logs in after each, to the same data', async () => {
    expect((await call('POST', '/api/v1/nodes/node1/activate', {})).statusCode).toBe(200);
    for (const to of ['node1', 'node2']) {
      const started = Date.now();
      const moving = await call('POST', `/api/v1/instances/${instance.id}/move`, { to, confirm: instance.name });
      expect(moving.statusCode, moving.body).toBe(202);
      const followed = await followJob(
        marina.baseUrl,
        marina.headers,
        moving.json<{ job: { id: string } }>().job.id,
        400_000,
      );
      if (followed.job.status !== 'succeeded') console.log(followed.logs.slice(-40).join('\n'));
      expect(followed.job.status, JSON.stringify(followed.job.error)).toBe('succeeded');
      // Odoo's database qualifies for the copy while it serves (every table has a primary key).
      expect(followed.logs.join('\n')).toContain('Database copied while it served (logical replication)');
      timings[`moveTo${to}`] = Date.now() - started;
      timings[`moveTo${to}Downtime`] = (followed.job.result as { downtimeMs: number }).downtimeMs;
      expect((await row()).host_id).toBe(to);
      expect((await loginAndRead()).name).toBe('Backed up');
    }
  }, 900_000);

  it('recovers on the other node from that backup when its node is lost; the customer logs in there', async () => {
    const lost = 'node2';
    const other = 'node1';
    expect((await call('POST', '/api/v1/nodes/node1/activate', {})).statusCode).toBe(200);
    await nodes.kill(lost);
    await until('unavailable', 90_000, async () => ((await row()).status === 'unavailable' ? true : undefined));
    const started = Date.now();
    const recovered = await call('POST', `/api/v1/instances/${instance.id}/recover`, { confirm: instance.name });
    await jobOf(recovered, 400_000);
    timings.recover = Date.now() - started;
    expect((await row()).host_id).toBe(other);
    expect((await loginAndRead()).name).toBe('Backed up');
  }, 500_000);
});
