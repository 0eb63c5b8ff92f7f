import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PROXY_FILES } from '../src/modules/edge/managed-proxy.js';
import { DockerRuntime } from '../src/runtime/docker/runtime.js';
import { as, type TestApp } from './helpers/app.js';
import {
  docker,
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  testNamespace,
} from './helpers/docker.js';
import { expectLoginOnPebbleCertificate } from './helpers/edge-expect.js';
import { type EdgeStack, edgeRequest, MANAGED_CADDY_IMAGE, startEdgeStack } from './helpers/edge-stack.js';
import { freePort } from './helpers/process.js';

/**
 * The proxy Marina runs itself (MARINA_CADDY_ADMIN_URL unset): Marina makes a Caddy container
 * (the test image marina-test/caddy, Debian's Caddy on the official image's contract) on the host's
 * network, on this file's own random ports, and it gets certificates on demand from a real Pebble
 * that validates them against that container through pebble-challtestsrv's DNS. The container is
 * this file's namespace's: removeNamespace cleans it up with its volumes.
 */

const BASE_DOMAIN = 'apps.marina.test';
const namespace = testNamespace();
const proxyName = `${namespace}-proxy-local`;
let stack: EdgeStack;
let env: Record<string, string>;
const marinas: TestApp[] = [];
let first: TestApp;
let firstApi: ReturnType<typeof as>;
let instance: { id: string; hostname: string };

/** A Marina of this file (same settings each time, its own port for the proxy's `ask`). */
async function startMarina(options: { edgeProxyCheckMs?: number } = {}) {
  const marina = await startDockerMarina(namespace, { ...env, MARINA_PORT: String(await freePort()) }, options);
  marinas.push(marina.t);
  return marina;
}

async function closeMarina(t: TestApp): Promise<void> {
  marinas.splice(marinas.indexOf(t), 1);
  await t.close();
}

const inspectProxy = () => docker.getContainer(proxyName).inspect();

async function proxyContainers(): Promise<string[]> {
  const label = [`io.marina.namespace=${namespace}`, 'io.marina.kind=proxy'];
  return (await docker.listContainers({ all: true, filters: { label } })).map((c) => c.Id);
}

function failureContext(): string {
  return `\n--- pebble:\n${stack.logs().pebble.slice(-2_000)}`;
}

beforeAll(async () => {
  await requireDocker();
  await docker
    .getImage(MANAGED_CADDY_IMAGE)
    .inspect()
    .catch(() => {
      throw new Error(`The test image ${MANAGED_CADDY_IMAGE} is missing: run \`bash scripts/build-test-images.sh\`.`);
    });
  stack = await startEdgeStack({ caddy: 'managed' });
  env = {
    MARINA_ODOO_17_IMAGE: 'marina-test/odoo-standin',
    ...stack.marinaEnv(),
    MARINA_BASE_DOMAIN: BASE_DOMAIN,
    MARINA_EDGE_DNS_PORT: '0',
  };
  const marina = await startMarina();
  first = marina.t;
  firstApi = as(marina.t, marina.admin);
  const provisioned = await provisionInstance({ ...marina, headers: marina.headers }, { name: 'main' });
  instance = (await as(marina.t, marina.admin)('GET', `/api/v1/instances/${provisioned.instance.id}`)).json().instance;
  await stack.pointAtEdge(instance.hostname);
  await first.services.edge.flush();
}, 240_000);

afterAll(async () => {
  for (const t of [...marinas]) await t.close().catch(() => undefined);
  await stack?.stop();
  await removeNamespace(namespace);
}, 60_000);

describe('the managed proxy (Caddy in a container Marina runs)', () => {
  it('is one container on the host network, in its namespace, with the CA roots mounted read-only', async () => {
    expect(stack.marinaEnv().MARINA_CADDY_ADMIN_URL).toBeUndefined();
    expect(await proxyContainers()).toHaveLength(1);
    const info = await inspectProxy();
    expect(info.State.Running).toBe(true);
    expect(info.HostConfig.NetworkMode).toBe('host');
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(info.Config.Image).toBe(MANAGED_CADDY_IMAGE);
    expect(info.Config.Labels).toMatchObject({ 'io.marina.namespace': namespace, 'io.marina.kind': 'proxy' });
    expect(info.Mounts).toContainEqual(
      expect.objectContaining({
        Type: 'bind',
        Source: env.MARINA_ACME_CA_ROOTS,
        Destination: PROXY_FILES.acmeCaRoots,
        RW: false,
      }),
    );
    expect(info.Mounts.map((m) => m.Name).filter(Boolean)).toEqual(
      expect.arrayContaining([`${proxyName}-data`, `${proxyName}-config`]),
    );
    // Marina's own, like its PostgreSQL: never offered for removal as an orphan.
    const { orphans } = (await firstApi('GET', '/api/v1/reconcile')).json() as { orphans: { name: string }[] };
    expect(orphans.map((o) => o.name).filter((name) => name.startsWith(proxyName))).toEqual([]);
    // Its admin API answers on this file's port, with the configuration Marina loaded.
    expect(await stack.caddyConfig('apps/http/servers/edge_public/listen')).toEqual([`:${stack.httpsPort}`]);
  });

  it('serves an instance on https://<its name> with a certificate Pebble issued on demand', async () => {
    await expectLoginOnPebbleCertificate(stack, instance.hostname, failureContext);
  });

  it('comes back from `docker restart` with its configuration and stored certificate: no load, no new order', async () => {
    const served = await edgeRequest(stack, { hostname: instance.hostname, timeoutMs: 30_000 });
    const fingerprint = new X509Certificate(served.certificate?.raw ?? Buffer.alloc(0)).fingerprint256;
    const before = await inspectProxy();
    const [loads, orders] = [first.services.edge.loads, stack.pebbleOrderCount()];

    await docker.getContainer(proxyName).restart({ t: 5 });
    const after = await inspectProxy();
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
    await vi.waitFor(async () => expect(await stack.caddyConfig('apps/http/servers/edge_public')).toBeTruthy(), {
      timeout: 15_000,
      interval: 100,
    });

    const response = await edgeRequest(stack, { hostname: instance.hostname, path: '/web/login', timeoutMs: 30_000 });
    expect(response.status, failureContext()).toBe(200);
    expect(new X509Certificate(response.certificate?.raw ?? Buffer.alloc(0)).fingerprint256).toBe(fingerprint);
    expect(stack.pebbleOrderCount()).toBe(orders);
    expect(first.services.edge.loads).toBe(loads);
  });

  it('keeps running when Marina stops, and the next Marina start uses the same container', async () => {
    const before = await inspectProxy();
    await closeMarina(first);
    const stopped = await inspectProxy();
    expect(stopped.State.Running).toBe(true);
    expect(stopped.State.StartedAt).toBe(before.State.StartedAt);

    const again = await startMarina();
    try {
      const after = await inspectProxy();
      expect(after.Id).toBe(before.Id);
      expect(after.State.StartedAt).toBe(before.State.StartedAt);
      expect(await proxyContainers()).toEqual([before.Id]);
      expect(again.t.services.edge.loads).toBeGreaterThan(0);
    } finally {
      await closeMarina(again.t);
    }
  });

  it('is made again when removed by hand: by the watch while Marina runs, and at the next start', async () => {
    const watched = await startMarina({ edgeProxyCheckMs: 300 });
    const gone = (await inspectProxy()).Id;
    await docker.getContainer(proxyName).remove({ force: true });

    await vi.waitFor(
      async () => {
        const remade = await inspectProxy();
        expect(remade.Id).not.toBe(gone);
        expect(remade.State.Running).toBe(true);
        expect(await stack.caddyConfig('apps/http/servers/edge_public/listen')).toEqual([`:${stack.httpsPort}`]);
      },
      { timeout: 20_000, interval: 200 },
    );
    // The certificates live in the named volume, which the new container mounts again.
    const { output } = await new DockerRuntime('unix:///var/run/docker.sock').exec(proxyName, [
      'find',
      '/data/caddy/certificates',
      '-name',
      `${instance.hostname}.crt`,
    ]);
    expect(output).toContain(`/${instance.hostname}.crt`);
    await closeMarina(watched.t);

    const removed = (await inspectProxy()).Id;
    await docker.getContainer(proxyName).remove({ force: true });
    const next = await startMarina();
    const made = await inspectProxy();
    expect(made.Id).not.toBe(removed);
    expect(made.State.Running).toBe(true);
    expect(await proxyContainers()).toEqual([made.Id]);
    expect(await stack.caddyConfig('apps/http/servers/edge_public/listen')).toEqual([`:${stack.httpsPort}`]);
    await closeMarina(next.t);
  }, 90_000);
});
