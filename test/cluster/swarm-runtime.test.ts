/**
 * The runtime contract (src/runtime/contract.ts) on a node of a real Swarm (issue #16): two Docker
 * engines from scripts/swarm-nodes.sh, the first a manager, the second a worker whose runtime is
 * tested. Instances are services pinned to the worker, created and scaled through the manager;
 * everything else runs on the worker's own engine, reached over mutual TLS.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeContract } from '../../src/runtime/contract.js';
import { DockerRuntime } from '../../src/runtime/docker/runtime.js';
import { SwarmEngine } from '../../src/runtime/docker/swarm.js';
import { SwarmRuntime } from '../../src/runtime/swarm/runtime.js';
import { LABEL_HOST } from '../../src/runtime/swarm/service-spec.js';
import { TEST_IMAGES, testNamespace } from '../helpers/docker.js';

const run = promisify(execFile);
const SCRIPT = new URL('../../scripts/swarm-nodes.sh', import.meta.url).pathname;
const ENV = {
  MARINA_SWARM_DIR: '/var/lib/marina-swarm-runtime-test',
  MARINA_SWARM_PREFIX: 'marina-rt',
  MARINA_SWARM_SUBNET: '192.168.234',
  MARINA_SWARM_IMAGES: `${TEST_IMAGES.standin} ${TEST_IMAGES.postgres}`,
};
const script = (...args: string[]) => run('bash', [SCRIPT, ...args], { env: { ...process.env, ...ENV } });
const canRun = process.getuid?.() === 0 && existsSync('/usr/sbin/dockerd') && existsSync('/var/run/docker.sock');

/** Prints its arguments, then sleeps until SIGTERM (which it honours at once, as PID 1 must). */
const SERVE =
  'import signal,sys,time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\nfor line in sys.argv[1:]: print(line, flush=True)\nwhile True: time.sleep(1)';

let shared: { runtime: SwarmRuntime; namespace: string } | undefined;

/** What `up` printed: brought up before the contract's own hook, whose minute is not enough for loading images under load. */
let upOutput = '';

beforeAll(async () => {
  if (!canRun) return;
  await script('down');
  upOutput = (await script('up', '2')).stdout;
}, 300_000);

afterAll(async () => {
  if (canRun) await script('down');
}, 120_000);

if (!canRun) console.warn('swarm runtime contract: SKIPPED — needs root, dockerd and the main Docker engine');
else
  runtimeContract('swarm (a worker node, instances as services)', async () => {
    const [manager, worker] = upOutput
      .trim()
      .split('\n')
      .map((line) => {
        const [name = '', , address = '', url = ''] = line.split(' ');
        return { name, address, url };
      }) as [{ name: string; address: string; url: string }, { name: string; address: string; url: string }];
    const pem = (file: string) => readFileSync(`${ENV.MARINA_SWARM_DIR}/tls/${file}`, 'utf8');
    const tls = { ca: pem('ca.pem'), cert: pem('cert.pem'), key: pem('key.pem') };
    const managerEngine = new SwarmEngine(manager.url, tls);
    const workerEngine = new SwarmEngine(worker.url, tls);
    await managerEngine.init(manager.address, 1);
    await workerEngine.join(worker.address, [manager.address], (await managerEngine.joinTokens()).worker);
    await managerEngine.updateNode((await workerEngine.membership()).nodeId, { labels: { [LABEL_HOST]: 'worker' } });
    const runtime = new SwarmRuntime(new DockerRuntime(worker.url, tls), async () => managerEngine, 'worker');
    shared = { runtime, namespace: testNamespace() };
    return {
      runtime,
      namespace: shared.namespace,
      instanceImage: TEST_IMAGES.standin,
      toolsImage: TEST_IMAGES.postgres,
      serve: (lines) => ['python3', '-c', SERVE, ...lines],
      cleanup: async () => undefined,
    };
  });

/** Opens a TCP connection to argv[1]:argv[2] within 3 s: exit 0 when it opens, 1 when it cannot. */
const CONNECT =
  'import socket,sys\ntry:\n  socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()\nexcept OSError as e:\n  print(e)\n  sys.exit(1)';
const LISTEN =
  'import signal,socket,sys\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\ns=socket.socket()\ns.bind(("0.0.0.0",5432))\ns.listen()\nwhile True: s.accept()[0].close()';

describe.skipIf(!canRun)('organizations on the swarm (one overlay each)', () => {
  it("an organization's workloads cannot open another organization's database server; its own can", async () => {
    if (!shared) throw new Error('the contract above did not bring the swarm up');
    const { runtime: rt, namespace } = shared;
    const labels = { 'io.marina.managed': 'true', 'io.marina.namespace': namespace, 'io.marina.kind': 'odoo' };
    const [a, b] = [`${namespace}-org-a`, `${namespace}-org-b`];
    for (const network of [a, b]) await rt.ensureNetwork(network, labels);
    const server = `${namespace}-pg-b`;
    await rt.createInstance({
      name: server,
      image: TEST_IMAGES.standin,
      command: ['python3', '-c', LISTEN],
      env: {},
      labels,
      network: b,
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
    await rt.start(server);
    // Its task runs under the engine's init, as the Docker runtime's containers (instanceServiceSpec).
    expect((await rt.exec(server, ['cat', '/proc/1/comm'])).output).toBe('docker-init\n');
    const address = await rt.address(server, b);
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const probe = (network: string, host: string) =>
      rt.run({
        name: `${namespace}-probe`,
        image: TEST_IMAGES.standin,
        entrypoint: ['python3'],
        command: ['-c', CONNECT, host, '5432'],
        labels,
        network,
        privileges: 'none',
      });
    // By address: Swarm names a task on its network only once it is healthy, which is not the point here.
    const own = await probe(b, address ?? '');
    expect(own.exitCode, own.output).toBe(0);
    const byName = await probe(a, server);
    expect(byName.exitCode, byName.output).toBe(1);
    const byAddress = await probe(a, address ?? '');
    expect(byAddress.exitCode, byAddress.output).toBe(1);
    await rt.remove(server);
    for (const network of [a, b]) await rt.removeNetwork(network);
  }, 120_000);
});
