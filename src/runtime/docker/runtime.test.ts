import { describe, expect, it } from 'vitest';
import { removeNamespace, requireDocker, TEST_IMAGES, testNamespace } from '../../../test/helpers/docker.js';
import { runtimeContract } from '../contract.js';
import type { InstanceSpec } from '../port.js';
import { DockerRuntime } from './runtime.js';
import { instanceContainerSpec, oneOffContainerSpec } from './specs.js';

/** Prints its arguments, then sleeps until SIGTERM (which it honours at once, as PID 1 must). */
const SERVE =
  'import signal,sys,time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\nfor line in sys.argv[1:]: print(line, flush=True)\nwhile True: time.sleep(1)';

runtimeContract('docker', async () => {
  await requireDocker();
  const namespace = testNamespace();
  return {
    runtime: new DockerRuntime('unix:///var/run/docker.sock'),
    namespace,
    instanceImage: TEST_IMAGES.standin,
    toolsImage: TEST_IMAGES.postgres,
    serve: (lines) => ['python3', '-c', SERVE, ...lines],
    cleanup: () => removeNamespace(namespace),
  };
});

describe('Docker runtime specs', () => {
  const spec: InstanceSpec = {
    name: 'ns-odoo-0123456789abcdef',
    image: 'odoo:17',
    command: ['odoo', '-c', '/etc/odoo/odoo.conf'],
    env: { HOST: 'ns-postgres', PORT: '5432', USER: 'odoo_0123456789abcdef', PASSWORD: 'pw' },
    labels: { 'io.marina.kind': 'odoo' },
    network: 'ns-org-x',
    mounts: [
      { type: 'volume', source: 'ns-filestore-0123456789abcdef', target: '/var/lib/odoo' },
      { type: 'bind', source: '/co/a', target: '/mnt/extra-addons/a', readOnly: true },
    ],
    config: { dir: '/etc/odoo', name: 'odoo.conf', content: '[options]\n', uid: 101, gid: 101, mode: 0o600 },
    limits: { memoryBytes: 768 * 1024 * 1024, nanoCpus: 1.5e9, pids: 1024 },
    http: { port: 8069, hostIp: '127.0.0.1', hostPort: 21001 },
    healthcheck: { test: ['CMD', 'true'], intervalSeconds: 30, timeoutSeconds: 10, retries: 3, startPeriodSeconds: 60 },
  };

  it('hardens an Odoo server: no capability, its limits, restarted unless stopped, its port on the bind address', () => {
    const { container, hash } = instanceContainerSpec(spec);
    expect(container).toMatchObject({
      capAdd: [],
      pidsLimit: 1024,
      nanoCpus: 1.5e9,
      memoryBytes: 768 * 1024 * 1024,
      restart: 'unless-stopped',
      ports: [{ container: 8069, hostIp: '127.0.0.1', hostPort: 21001 }],
      init: true,
    });
    expect(container.labels['io.marina.config']).toBe(hash);
  });

  it('keeps the key order of the container spec, so that the config hash of existing containers holds', () => {
    const { container } = instanceContainerSpec(spec);
    expect(Object.keys(container)).toEqual([
      'image',
      'env',
      'labels',
      'network',
      'mounts',
      'capAdd',
      'pidsLimit',
      'nanoCpus',
      'name',
      'cmd',
      'ports',
      'memoryBytes',
      'restart',
      'healthcheck',
      // Added after the hash was taken: containers made before it keep theirs.
      'init',
    ]);
  });

  it('gives tools the root helper capabilities (engine default) and Odoo one-offs none', () => {
    const base = { name: 'x', image: 'i', command: ['true'], labels: {} };
    expect(oneOffContainerSpec({ ...base, privileges: 'files' }).capAdd).toBeUndefined();
    expect(oneOffContainerSpec({ ...base, privileges: 'none' }).capAdd).toEqual([]);
  });

  it("gives a one-off the CPU weight it asks for, and the engine's default otherwise", () => {
    const base = { name: 'x', image: 'i', command: ['true'], labels: {}, privileges: 'files' as const };
    expect(oneOffContainerSpec({ ...base, limits: { cpuShares: 256 } }).cpuShares).toBe(256);
    expect(oneOffContainerSpec(base)).not.toHaveProperty('cpuShares');
  });

  it('stops an instance by its own SIGTERM while the entrypoint still waits for PostgreSQL, not by the kill', async () => {
    await requireDocker();
    const runtime = new DockerRuntime('unix:///var/run/docker.sock');
    const namespace = testNamespace();
    const labels = { 'io.marina.namespace': namespace };
    try {
      await runtime.ensureNetwork(`${namespace}-net`, labels);
      // Nothing answers at HOST: the image's entrypoint (a shell, as the official image's) waits for it.
      const waiting: InstanceSpec = {
        ...spec,
        name: `${namespace}-odoo-waits`,
        image: TEST_IMAGES.standin,
        env: { ...spec.env, HOST: `${namespace}-nowhere`, MARINA_WAIT_FOR_DB_TIMEOUT: '120' },
        labels,
        network: `${namespace}-net`,
        mounts: [],
      };
      delete waiting.http;
      await runtime.createInstance(waiting);
      await runtime.start(waiting.name);
      const started = await runtime.exec(waiting.name, ['true']);
      expect(started.exitCode).toBe(0);
      // A shell as PID 1 ignores SIGTERM: the engine would kill it after the timeout (exit 137).
      await runtime.stop(waiting.name, 5);
      expect(await runtime.state(waiting.name)).toMatchObject({ running: false, exitCode: 143 });
    } finally {
      await removeNamespace(namespace);
    }
  });

  it('says what is wrong when an image has no folder for the config file', async () => {
    await requireDocker();
    const runtime = new DockerRuntime('unix:///var/run/docker.sock');
    const namespace = testNamespace();
    try {
      await expect(
        runtime.run({
          name: `${namespace}-noconf`,
          image: TEST_IMAGES.postgres,
          command: ['true'],
          labels: { 'io.marina.namespace': namespace },
          config: { ...spec.config, dir: '/nonexistent/odoo' },
          privileges: 'none',
        }),
      ).rejects.toThrow(`The image ${TEST_IMAGES.postgres} has no /nonexistent/odoo`);
    } finally {
      await removeNamespace(namespace);
    }
  });
});
