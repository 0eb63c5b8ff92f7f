/**
 * The cluster's nodes on a real three-node Swarm (issue #16): scripts/swarm-nodes.sh starts three
 * Docker engines in their own network namespaces, each listening on TCP with mutual TLS. Marina
 * adds them as a platform admin would (the API), makes the first a manager and joins the others,
 * follows their state from Swarm, raises the node_down alert when one dies, and lets one go.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../helpers/app.js';
import { makeOrganization, makeOrganizationWithAdmin } from '../helpers/factories.js';
import { swarmNodes } from '../helpers/swarm-nodes.js';

const run = promisify(execFile);
const SCRIPT = new URL('../../scripts/swarm-nodes.sh', import.meta.url).pathname;
// Apart from test/swarm-nodes.test.ts's nodes, so that both files can run at once.
const ENV = {
  MARINA_SWARM_DIR: '/var/lib/marina-cluster-test',
  MARINA_SWARM_PREFIX: 'marina-cl',
  MARINA_SWARM_SUBNET: '192.168.233',
  MARINA_SWARM_IMAGES: 'marina-test/debian:bookworm',
};
const TLS = `${ENV.MARINA_SWARM_DIR}/tls`;

const canRun = process.getuid?.() === 0 && existsSync('/usr/sbin/dockerd') && existsSync('/var/run/docker.sock');
if (!canRun) console.warn('cluster nodes: SKIPPED — needs root, dockerd and the main Docker engine');

const script = (...args: string[]) => run('bash', [SCRIPT, ...args], { env: { ...process.env, ...ENV } });
const pem = (name: string) => readFileSync(`${TLS}/${name}`, 'utf8');

interface NodeLine {
  name: string;
  socket: string;
  address: string;
  url: string;
}
interface NodeJson {
  id: string;
  role: string;
  nodeState: string | null;
  availability: string | null;
  managerReachability: string | null;
  cpus: number | null;
  memoryBytes: number | null;
  instances: number;
}

describe.skipIf(!canRun)('the cluster on a real three-node Swarm', () => {
  let lines: NodeLine[] = [];
  let t: TestApp;
  let admin: Browser;
  const tls = () => ({ ca: pem('ca.pem'), cert: pem('cert.pem'), key: pem('key.pem') });
  const call: ReturnType<typeof as> = (method, url, body) => as(t, admin)(method, url, body);
  const nodes = async () => (await call('GET', '/api/v1/nodes')).json<{ nodes: NodeJson[] }>().nodes;
  const node = async (id: string) => (await nodes()).find((n) => n.id === id);
  const line = (name: string) => lines.find((l) => l.name === name) as NodeLine;
  const local = (name: string) => new Docker({ socketPath: line(name).socket });
  const kill = async (name: string) => {
    const pid = readFileSync(`${ENV.MARINA_SWARM_DIR}/${name}/docker.pid`, 'utf8').trim();
    await run('kill', ['-9', pid]);
  };

  beforeAll(async () => {
    await script('down');
    const { stdout } = await script('up', '3');
    lines = stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [name = '', socket = '', address = '', url = ''] = l.split(' ');
        return { name, socket, address, url };
      });
    t = await createTestApp({
      MARINA_NAMESPACE: 'mtcluster',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_CLUSTER_HEARTBEAT_S: '1',
      MARINA_CLUSTER_FOLLOW_S: '1',
    });
    admin = await adminBrowser(t);
    t.services.nodeFollower.start();
  }, 240_000);

  afterAll(async () => {
    await t?.services.nodeFollower.stop();
    await t?.close();
    await script('down');
  }, 120_000);

  it('refuses what is not an engine on mutual TLS, a wrong certificate, and strangers; nothing is recorded', async () => {
    const body = { name: 'node1', dockerHost: line('node1').url, tls: tls() };
    const sshWithoutKey = await call('POST', '/api/v1/nodes', { ...body, dockerHost: 'ssh://root@192.168.233.11' });
    expect(sshWithoutKey.statusCode).toBe(400);
    expect(sshWithoutKey.json().error.message).toMatch(/ssh:\/\/ engine takes ssh/);
    const plain = await call('POST', '/api/v1/nodes', { ...body, dockerHost: 'unix:///var/run/docker.sock' });
    expect(plain.statusCode).toBe(400);
    const notPem = await call('POST', '/api/v1/nodes', { ...body, tls: { ...tls(), key: 'hello' } });
    expect(notPem.json().error.message).toMatch(/tls.key is not a PEM private key/);
    // A certificate the engine's CA signed for a server, not for a client: the engine refuses it.
    const wrong = await call('POST', '/api/v1/nodes', {
      ...body,
      tls: { ca: pem('ca.pem'), cert: pem('node2-cert.pem'), key: pem('node2-key.pem') },
    });
    expect(wrong.statusCode, wrong.body).toBe(503);
    expect(wrong.json().error.code).toBe('MARINA_E_NODE_UNREACHABLE');

    // Over SSH the host key is pinned: another one is refused before anything is sent, and named.
    const { hostKey, ssh } = swarmNodes(ENV);
    const sshBody = {
      name: 'node1',
      dockerHost: `ssh://root@${line('node1').address}`,
      ssh: { ...ssh('node1'), hostKeyFingerprint: hostKey('node2') },
    };
    const pinned = await call('POST', '/api/v1/nodes', sshBody);
    expect(pinned.statusCode, pinned.body).toBe(503);
    expect(pinned.json().error.message).toContain(
      `presented the host key ${hostKey('node1')}, not ${hostKey('node2')}`,
    );
    const mixed = await call('POST', '/api/v1/nodes', { ...sshBody, tls: tls() });
    expect(mixed.json().error.message).toMatch(/ssh:\/\/ engine takes ssh/);
    const noUser = await call('POST', '/api/v1/nodes', { ...sshBody, dockerHost: `ssh://${line('node1').address}` });
    expect(noUser.json().error.message).toMatch(/names its user/);
    const badFingerprint = await call('POST', '/api/v1/nodes', {
      ...sshBody,
      ssh: { ...sshBody.ssh, hostKeyFingerprint: 'MD5:00' },
    });
    expect(badFingerprint.json().error.message).toMatch(/hostKeyFingerprint is SHA256/);

    const { admin: stranger } = await makeOrganizationWithAdmin(t, admin, { slug: 'stranger' });
    expect((await as(t, stranger)('POST', '/api/v1/nodes', body)).statusCode).toBe(403);
    expect((await as(t, stranger)('GET', '/api/v1/nodes')).statusCode).toBe(403);

    expect(await nodes()).toEqual([]);
    expect(((await local('node1').info()) as { Swarm: { LocalNodeState: string } }).Swarm.LocalNodeState).toBe(
      'inactive',
    );
  }, 60_000);

  it('adds three hosts: the first makes the swarm, the others join; Swarm labels them and Marina shows them', async () => {
    const started = Date.now();
    for (const name of ['node1', 'node2', 'node3']) {
      const added = await call('POST', '/api/v1/nodes', { name, dockerHost: line(name).url, tls: tls() });
      expect(added.statusCode, added.body).toBe(201);
    }
    console.log(`cluster: three hosts added (swarm made, two joined) in ${Date.now() - started} ms`);
    const listed = await nodes();
    expect(listed.map((n) => [n.id, n.role, n.nodeState, n.availability])).toEqual([
      ['node1', 'manager', 'ready', 'active'],
      ['node2', 'worker', 'ready', 'active'],
      ['node3', 'worker', 'ready', 'active'],
    ]);
    for (const n of listed) {
      expect(n.cpus).toBeGreaterThan(0);
      expect(n.memoryBytes).toBeGreaterThan(0);
    }
    const swarmNodes = (await local('node1').listNodes()) as {
      Description: { Hostname: string };
      Spec: { Labels: Record<string, string> };
      Status: { State: string };
    }[];
    expect(
      swarmNodes.map((n) => [n.Description.Hostname, n.Spec.Labels['io.marina.host'], n.Status.State]).sort(),
    ).toEqual([
      ['node1', 'node1', 'ready'],
      ['node2', 'node2', 'ready'],
      ['node3', 'node3', 'ready'],
    ]);
    // The TLS material is sealed in Marina's database, not stored as given.
    const row = await t.db.selectFrom('hosts').select('tls').where('id', '=', 'node2').executeTakeFirstOrThrow();
    expect(row.tls).not.toContain('PRIVATE KEY');

    const again = await call('POST', '/api/v1/nodes', { name: 'node2b', dockerHost: line('node2').url, tls: tls() });
    expect(again.statusCode).toBe(409);
  }, 120_000);

  it("gives a node's runtime as the Swarm's: an instance made through it is a service that runs on that node", async () => {
    const runtime = await t.services.hosts.runtime('node3');
    await runtime.ensureNetwork('mtcluster-org-a', { 'io.marina.namespace': 'mtcluster' });
    const spec = {
      name: 'mtcluster-odoo-pinned',
      image: 'marina-test/debian:bookworm',
      command: ['sleep', 'infinity'],
      env: {},
      labels: { 'io.marina.managed': 'true', 'io.marina.namespace': 'mtcluster', 'io.marina.kind': 'odoo' },
      network: 'mtcluster-org-a',
      mounts: [{ type: 'volume' as const, source: 'mtcluster-data-pinned', target: '/var/lib/odoo' }],
      config: { dir: '/etc/odoo', name: 'odoo.conf', content: '[options]\n', uid: 101, gid: 101, mode: 0o600 },
      limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 2e8, pids: 64 },
      healthcheck: { test: ['CMD', 'true'], intervalSeconds: 5, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 5 },
    };
    await runtime.createInstance(spec);
    await runtime.start(spec.name);
    const onNode3 = await local('node3').listContainers({
      filters: { label: [`com.docker.swarm.service.name=${spec.name}`] },
    });
    expect(onNode3.map((c) => c.State)).toEqual(['running']);
    expect(await runtime.readFile(spec.name, '/etc/odoo/odoo.conf')).toBe('[options]\n');
    await runtime.remove(spec.name);
    await runtime.removeVolume('mtcluster-data-pinned');
    await runtime.removeNetwork('mtcluster-org-a');
  }, 120_000);

  it('places a new instance by free memory, and refuses clearly when nothing fits', async () => {
    const org = await makeOrganization(call, { slug: 'acme' });
    const query = (memoryMb: number) =>
      `/api/v1/nodes/placement?memoryMb=${memoryMb}&cpus=0.5&organization=${org.id}&stage=production`;
    const fits = (await call('GET', query(256))).json().placement;
    expect(fits.ok).toBe(true);
    expect(['node1', 'node2', 'node3']).toContain(fits.hostId);
    const none = (await call('GET', query(1_048_576))).json().placement;
    expect(none.ok).toBe(false);
    expect(none.message).toMatch(/^No node can take an instance of 1024 GB/);
    expect(none.rejected.map((r: { hostId: string }) => r.hostId).sort()).toEqual(['node1', 'node2', 'node3']);
  });

  it('drains a node and activates it again, in Swarm too', async () => {
    const drained = await call('POST', '/api/v1/nodes/node2/drain');
    expect(drained.statusCode, drained.body).toBe(200);
    expect(drained.json().node.availability).toBe('drain');
    const id = ((await local('node2').info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    const spec = async () =>
      ((await local('node1').getNode(id).inspect()) as { Spec: { Availability: string } }).Spec.Availability;
    expect(await spec()).toBe('drain');
    expect((await node('node2'))?.availability).toBe('drain');
    expect((await call('POST', '/api/v1/nodes/node2/activate')).json().node.availability).toBe('active');
    expect(await spec()).toBe('active');
  }, 60_000);

  it('follows a node whose engine dies: down within seconds, a node_down alert, then ready again when it returns', async () => {
    const killed = Date.now();
    await kill('node3');
    await expect.poll(async () => (await node('node3'))?.nodeState, { timeout: 60_000, interval: 200 }).toBe('down');
    console.log(`cluster: node3 seen down ${Date.now() - killed} ms after its dockerd was killed (heartbeat 1 s)`);
    await t.services.alertEvaluator.runOnce();
    const open = await t.db
      .selectFrom('incidents')
      .selectAll()
      .where('kind', '=', 'node_down')
      .where('resolved_at', 'is', null)
      .execute();
    expect(open.map((i) => i.subject)).toEqual(['node3']);
    expect(String(open[0]?.details.summary)).toMatch(/^Swarm reports node node3 down/);

    await script('up', '3');
    await expect.poll(async () => (await node('node3'))?.nodeState, { timeout: 60_000, interval: 200 }).toBe('ready');
    await t.services.alertEvaluator.runOnce();
    const still = await t.db
      .selectFrom('incidents')
      .select('id')
      .where('kind', '=', 'node_down')
      .where('resolved_at', 'is', null)
      .execute();
    expect(still).toEqual([]);
    // One node, not two: the engine that came back is the same Swarm node.
    expect(((await local('node1').listNodes()) as unknown[]).length).toBe(3);
  }, 150_000);

  it('removes a worker (it leaves the swarm) and adds it back as a manager; with three managers, losing one keeps the cluster followed', async () => {
    expect((await call('DELETE', '/api/v1/nodes/node3')).statusCode).toBe(204);
    expect(((await local('node3').info()) as { Swarm: { LocalNodeState: string } }).Swarm.LocalNodeState).toBe(
      'inactive',
    );
    expect(((await local('node1').listNodes()) as unknown[]).length).toBe(2);
    expect((await nodes()).map((n) => n.id)).toEqual(['node1', 'node2']);

    expect((await call('DELETE', '/api/v1/nodes/node2')).statusCode).toBe(204);
    for (const name of ['node2', 'node3']) {
      const added = await call('POST', '/api/v1/nodes', {
        name,
        dockerHost: line(name).url,
        tls: tls(),
        role: 'manager',
      });
      expect(added.statusCode, added.body).toBe(201);
    }
    await expect
      .poll(async () => (await nodes()).map((n) => `${n.id} ${n.role} ${n.managerReachability}`), { timeout: 30_000 })
      .toEqual(['node1 manager reachable', 'node2 manager reachable', 'node3 manager reachable']);

    const killed = Date.now();
    await kill('node1');
    await expect
      .poll(async () => (await nodes()).map((n) => `${n.id} ${n.nodeState}`), { timeout: 90_000, interval: 250 })
      .toEqual(['node1 down', 'node2 ready', 'node3 ready']);
    console.log(`cluster: manager node1 seen down ${Date.now() - killed} ms after its dockerd was killed`);
    expect((await node('node1'))?.managerReachability).toBe('unreachable');
  }, 240_000);
});
