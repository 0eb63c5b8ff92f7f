/**
 * The multi-node Swarm the cluster tests run on (issue #16): scripts/swarm-nodes.sh brings up three
 * Docker engines, each in its own network namespace, on this machine. Checked here: each is its
 * own node (identity, hostname, address), they form a swarm, a service pinned to one node runs
 * there, and an overlay network names it from a container on another node.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../src/runtime/docker/runtime.js';
import { SwarmEngine } from '../src/runtime/docker/swarm.js';
import { SwarmRuntime } from '../src/runtime/swarm/runtime.js';
import { LABEL_HOST } from '../src/runtime/swarm/service-spec.js';

const run = promisify(execFile);
const SCRIPT = new URL('../scripts/swarm-nodes.sh', import.meta.url).pathname;
const DIR = '/var/lib/marina-swarm-test';
const IMAGE = 'marina-test/debian:bookworm';

const canRun = process.getuid?.() === 0 && existsSync('/usr/sbin/dockerd') && existsSync('/var/run/docker.sock');
if (!canRun)
  console.warn('swarm-nodes: SKIPPED — needs root, dockerd and the main Docker engine (scripts/ensure-docker.sh)');

interface Node {
  name: string;
  docker: Docker;
  address: string;
  url: string;
}

// These engines let containers gain privileges (their default): Marina must refuse to run instances there.
const script = (...args: string[]) =>
  run('bash', [SCRIPT, ...args], {
    env: { ...process.env, MARINA_SWARM_DIR: DIR, MARINA_SWARM_IMAGES: IMAGE, MARINA_SWARM_NO_NEW_PRIVILEGES: 'false' },
  });

describe.skipIf(!canRun)('three Docker engines on one machine (scripts/swarm-nodes.sh)', () => {
  let nodes: Node[] = [];

  beforeAll(async () => {
    await script('down');
    const { stdout } = await script('up', '3');
    nodes = stdout
      .trim()
      .split('\n')
      .map((line) => {
        const [name = '', socket = '', address = '', url = ''] = line.split(' ');
        return { name, docker: new Docker({ socketPath: socket }), address, url };
      });
  }, 180_000);

  afterAll(async () => {
    await script('down');
    expect(existsSync(DIR)).toBe(false);
  }, 60_000);

  it('are three nodes, each with its own identity, hostname and address, holding the test image', async () => {
    expect(nodes.map((n) => n.name)).toEqual(['node1', 'node2', 'node3']);
    const infos = await Promise.all(nodes.map((n) => n.docker.info() as Promise<{ ID: string; Name: string }>));
    expect(new Set(infos.map((i) => i.ID)).size).toBe(3);
    expect(infos.map((i) => i.Name)).toEqual(['node1', 'node2', 'node3']);
    expect(new Set(nodes.map((n) => n.address)).size).toBe(3);
    for (const node of nodes) await expect(node.docker.getImage(IMAGE).inspect()).resolves.toBeTruthy();
  });

  it('form a swarm where a pinned service runs on its node and an overlay names it from another node', async () => {
    const [manager, ...workers] = nodes as [Node, ...Node[]];
    await manager.docker.swarmInit({
      ListenAddr: '0.0.0.0:2377',
      AdvertiseAddr: manager.address,
      Spec: { Dispatcher: { HeartbeatPeriod: 1_000_000_000 } },
    });
    const swarm = (await manager.docker.swarmInspect()) as { JoinTokens: { Worker: string } };
    for (const worker of workers)
      await worker.docker.swarmJoin({
        ListenAddr: '0.0.0.0:2377',
        AdvertiseAddr: worker.address,
        RemoteAddrs: [`${manager.address}:2377`],
        JoinToken: swarm.JoinTokens.Worker,
      });
    await expect
      .poll(
        async () =>
          ((await manager.docker.listNodes()) as { Status: { State: string } }[]).filter(
            (n) => n.Status.State === 'ready',
          ).length,
        { timeout: 30_000 },
      )
      .toBe(3);

    await manager.docker.createNetwork({ Name: 'orga', Driver: 'overlay', Attachable: true });
    // No IPVS in this kernel: DNS round-robin instead of a virtual IP.
    await manager.docker.createService({
      Name: 'pinned',
      TaskTemplate: {
        ContainerSpec: { Image: IMAGE, Command: ['sleep', 'infinity'] },
        Placement: { Constraints: ['node.hostname==node3'] },
        Networks: [{ Target: 'orga' }],
      },
      EndpointSpec: { Mode: 'dnsrr' },
      Mode: { Replicated: { Replicas: 1 } },
    });
    await expect
      .poll(
        async () => {
          const tasks = (await manager.docker.listTasks({ filters: { service: ['pinned'] } })) as {
            NodeID: string;
            Status: { State: string };
          }[];
          const running = tasks.find((t) => t.Status.State === 'running');
          if (!running) return 'not running';
          return ((await manager.docker.getNode(running.NodeID).inspect()) as { Description: { Hostname: string } })
            .Description.Hostname;
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe('node3');

    const container = await manager.docker.createContainer({
      Image: IMAGE,
      Cmd: ['getent', 'hosts', 'pinned'],
      HostConfig: { NetworkMode: 'orga' },
    });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true })).toString();
    await container.remove();
    expect(StatusCode).toBe(0);
    expect(output).toMatch(/^\S*\d+\.\d+\.\d+\.\d+\s+pinned/m);
  }, 120_000);

  it('stops an instance on an engine that lets containers gain privileges, saying what to set', async () => {
    const [manager, , node3] = nodes as [Node, Node, Node];
    const tls = {
      ca: readFileSync(`${DIR}/tls/ca.pem`, 'utf8'),
      cert: readFileSync(`${DIR}/tls/cert.pem`, 'utf8'),
      key: readFileSync(`${DIR}/tls/key.pem`, 'utf8'),
    };
    const id = ((await node3.docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    const managerEngine = new SwarmEngine(manager.url, tls);
    await managerEngine.updateNode(id, { labels: { [LABEL_HOST]: 'node3' } });
    const runtime = new SwarmRuntime(new DockerRuntime(node3.url, tls), async () => managerEngine, 'node3');
    const name = 'nnp-odoo';
    await runtime.createInstance({
      name,
      image: IMAGE,
      command: ['sleep', 'infinity'],
      env: {},
      labels: { 'io.marina.namespace': 'nnp' },
      network: 'orga',
      mounts: [],
      config: { dir: '/etc/odoo', name: 'odoo.conf', content: '[options]\n', uid: 101, gid: 101, mode: 0o600 },
      limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 2e8, pids: 64 },
      healthcheck: {
        test: ['CMD', 'true'],
        intervalSeconds: 30,
        timeoutSeconds: 5,
        retries: 3,
        startPeriodSeconds: 30,
      },
    });
    await expect(runtime.start(name)).rejects.toMatchObject({
      code: 'MARINA_E_NODE_INSECURE',
      message: expect.stringMatching(/without no-new-privileges/),
    });
    expect((await runtime.state(name))?.running).toBe(false);
    await runtime.remove(name);
  }, 120_000);
});
