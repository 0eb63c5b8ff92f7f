import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAINTENANCE_RETRY_SECONDS } from '../src/modules/edge/caddy-config.js';
import { organizationNetworkName } from '../src/modules/hosts/database-servers.js';
import { as, type Browser, type TestApp } from './helpers/app.js';
import {
  docker,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from './helpers/docker.js';
import { type EdgeStack, edgeRequest, startEdgeStack } from './helpers/edge-stack.js';
import { makeProject } from './helpers/factories.js';
import { followJob } from './helpers/jobs.js';
import { freePort } from './helpers/process.js';

/**
 * Instances behind the edge without published ports (the default with MARINA_BASE_DOMAIN): real
 * Docker runs the Odoo stand-in, a real Caddy 2.6 (edge-stack's, on the host) reaches each
 * container at its address on its organization's network, found by name in Marina's edge DNS;
 * MARINA_INSTANCE_PUBLISH=publish keeps the ports published, as before.
 */

const BASE = 'apps.test';

interface Marina {
  stack: EdgeStack;
  t: TestApp;
  admin: Browser;
  baseUrl: string;
  headers: Record<string, string>;
  namespace: string;
}

type InstanceView = { id: string; hostname: string; httpPort: number | null; url: string };

async function startMarina(env: Record<string, string>): Promise<Marina> {
  await requireDocker();
  const namespace = testNamespace();
  const stack = await startEdgeStack();
  const marina = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    ...stack.marinaEnv(),
    MARINA_HOST: '127.0.0.1',
    // Caddy asks Marina (`ask`) at the configured MARINA_PORT before it issues a certificate.
    MARINA_PORT: String(await freePort()),
    MARINA_BASE_DOMAIN: BASE,
    // Caddy's own CA: certificates on demand without the ACME round trips (edge-tls tests those).
    MARINA_ACME_CA: 'internal',
    ...env,
  });
  return { stack, namespace, ...marina };
}

async function stopMarina(m: Marina | undefined): Promise<void> {
  await m?.t.close();
  await m?.stack.stop();
  if (m) await removeNamespace(m.namespace);
}

async function provision(
  m: Marina,
  project: string,
  fields: { name: string; stage: string; memoryMb: number },
): Promise<InstanceView> {
  const call = as(m.t, m.admin);
  const made = await call('POST', '/api/v1/instances', { project, adminLogin: 'o@acme.test', ...fields });
  expect(made.statusCode, made.body).toBe(202);
  const { instance, job } = made.json<{ instance: { id: string }; job: { id: string } }>();
  const done = await followJob(m.baseUrl, m.headers, job.id);
  expect(done.job.status, JSON.stringify(done.job.error)).toBe('succeeded');
  return (await call('GET', `/api/v1/instances/${instance.id}`)).json<{ instance: InstanceView }>().instance;
}

async function lifecycle(m: Marina, id: string, action: 'start' | 'stop', confirm?: string) {
  const response = await as(m.t, m.admin)('POST', `/api/v1/instances/${id}/${action}`, confirm ? { confirm } : {});
  expect(response.statusCode, response.body).toBe(202);
  const done = await followJob(m.baseUrl, m.headers, response.json<{ job: { id: string } }>().job.id);
  expect(done.job.status, JSON.stringify(done.job.error)).toBe('succeeded');
}

async function rowOf(m: Marina, id: string) {
  return m.t.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** What Docker says of the instance's container: host port bindings, and its address per network. */
async function containerOf(name: string) {
  const info = await docker.getContainer(name).inspect();
  const bound = Object.values(info.NetworkSettings.Ports ?? {}).filter((b) => b && b.length > 0);
  const configured = Object.keys(info.HostConfig.PortBindings ?? {});
  const addresses = Object.fromEntries(
    Object.entries(info.NetworkSettings.Networks ?? {}).map(([network, n]) => [network, n.IPAddress]),
  );
  return { bound, configured, addresses, bindings: info.HostConfig.PortBindings ?? {} };
}

/** What the stand-in saw: the path and the port the request came in on. */
const echoOf = (body: string) => JSON.parse(body) as { path: string; port: number };

/** Waits for the coalesced syncs the instance events asked for, then says how many loads Caddy took. */
async function settledLoads(m: Marina): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 400));
  await m.t.services.edge.flush();
  return m.t.services.edge.loads;
}

/** The configuration Caddy runs now (Marina's last load), as text. */
async function caddyConfig(m: Marina): Promise<string> {
  return (await fetch(`${m.stack.caddyAdminUrl}/config/`)).text();
}

describe('with the edge, instances publish no port: the proxy reaches them on their network', () => {
  let m: Marina;
  let dev: InstanceView;
  let prod: InstanceView;

  beforeAll(async () => {
    m = await startMarina({});
    const project = await makeProject(as(m.t, m.admin), { name: 'erp', odooVersion: '17.0' });
    dev = await provision(m, project.id, { name: 'dev', stage: 'development', memoryMb: 768 });
    // 2 GiB: Odoo's multi-process mode, with its gevent server on 8072.
    prod = await provision(m, project.id, { name: 'prod', stage: 'production', memoryMb: 2048 });
    await m.t.services.edge.flush();
  }, 300_000);

  afterAll(() => stopMarina(m), 120_000);

  it("publishes neither Odoo's HTTP nor its gevent port on the host, and the API shows no port", async () => {
    for (const instance of [dev, prod]) {
      const row = await rowOf(m, instance.id);
      const container = await containerOf(row.container_name);
      expect(container.configured, JSON.stringify(container.bindings)).toEqual([]);
      expect(container.bound).toEqual([]);
      expect(instance.httpPort).toBeNull();
      expect(instance.url).toBe(`https://${instance.hostname}:${m.stack.httpsPort}`);
    }
    expect((await rowOf(m, prod.id)).gevent_port, 'an instance with workers').not.toBeNull();
  });

  it("waited for Odoo's health at the container's address on its organization's network", async () => {
    const row = await rowOf(m, dev.id);
    expect(row.status).toBe('running');
    const network = organizationNetworkName(m.namespace, row.organization_id);
    const address = (await containerOf(row.container_name)).addresses[network];
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await m.t.services.instances.internalUrl(row)).toBe(`http://${address}:8069`);
    expect((await fetch(`http://${address}:8069/web/health`)).status).toBe(200);
  });

  it('serves Odoo through the edge, /websocket on the gevent port, with no address in the proxy configuration', async () => {
    const page = await edgeRequest(m.stack, { hostname: dev.hostname, path: '/web/standin/echo' });
    expect(page.status, page.body).toBe(200);
    expect(echoOf(page.body).port).toBe(8069);
    const socket = await edgeRequest(m.stack, { hostname: prod.hostname, path: '/websocket' });
    expect(socket.status, socket.body).toBe(200);
    expect(echoOf(socket.body).port).toBe(8072);
    const other = await edgeRequest(m.stack, { hostname: prod.hostname, path: '/web/standin/echo' });
    expect(echoOf(other.body).port).toBe(8069);
    // Caddy holds the instance's name in Marina's DNS, not where the container is now.
    const config = await caddyConfig(m);
    const row = await rowOf(m, dev.id);
    const address = (await containerOf(row.container_name)).addresses[
      organizationNetworkName(m.namespace, row.organization_id)
    ];
    expect(config).toContain(`${dev.id.replace(/-/g, '')}.odoo.marina.internal.`);
    expect(config).not.toContain(`"${address}:`);
  });

  it('answers the maintenance page while stopped, and Odoo at its new address after start, with no proxy load', {
    timeout: 180_000,
  }, async () => {
    const before = await settledLoads(m);
    const row = await rowOf(m, dev.id);
    const network = organizationNetworkName(m.namespace, row.organization_id);
    const oldAddress = (await containerOf(row.container_name)).addresses[network];
    await lifecycle(m, dev.id, 'stop');
    const stopped = await edgeRequest(m.stack, { hostname: dev.hostname, path: '/web/login' });
    expect(stopped.status).toBe(503);
    expect(stopped.headers['retry-after']).toBe(String(MAINTENANCE_RETRY_SECONDS));
    expect(stopped.body).toContain('maintenance');

    // Another container of the organization takes the address the stopped one had: the instance
    // comes back elsewhere, and whatever now sits at the old address must not be what answers.
    const blocker = await docker.createContainer({
      Image: 'marina-test/debian:bookworm',
      Cmd: ['sleep', 'infinity'],
      Labels: { 'io.marina.namespace': m.namespace },
      HostConfig: { NetworkMode: network },
    });
    try {
      await blocker.start();
      const blocked = (await blocker.inspect()).NetworkSettings.Networks?.[network]?.IPAddress;
      await lifecycle(m, dev.id, 'start');
      const newAddress = (await containerOf(row.container_name)).addresses[network];
      expect(newAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(newAddress).not.toBe(oldAddress);
      expect(blocked).toBe(oldAddress);
      // Caddy asks Marina's DNS again within its refresh (3 s); Marina forgot the old answer at the start.
      const deadline = Date.now() + 10_000;
      let started = await edgeRequest(m.stack, { hostname: dev.hostname, path: '/web/standin/echo' });
      while (started.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        started = await edgeRequest(m.stack, { hostname: dev.hostname, path: '/web/standin/echo' });
      }
      expect(started.status, started.body).toBe(200);
      expect(echoOf(started.body).port).toBe(8069);
    } finally {
      await blocker.remove({ force: true });
    }
    expect(await settledLoads(m)).toBe(before);
  });
});

describe('with MARINA_INSTANCE_PUBLISH=publish, the ports stay published and the proxy dials them', () => {
  let m: Marina;
  let dev: InstanceView;

  beforeAll(async () => {
    m = await startMarina({ MARINA_INSTANCE_PUBLISH: 'publish' });
    const project = await makeProject(as(m.t, m.admin), { name: 'erp', odooVersion: '17.0' });
    dev = await provision(m, project.id, { name: 'dev', stage: 'development', memoryMb: 768 });
    await m.t.services.edge.flush();
  }, 300_000);

  afterAll(() => stopMarina(m), 120_000);

  it("publishes Odoo's port on loopback, shows it, and the edge reaches Odoo there", async () => {
    const row = await rowOf(m, dev.id);
    expect(row.http_port).not.toBeNull();
    expect(dev.httpPort).toBe(row.http_port);
    const container = await containerOf(row.container_name);
    expect(container.bindings).toEqual({ '8069/tcp': [{ HostIp: '127.0.0.1', HostPort: String(row.http_port) }] });
    expect((await fetch(`http://127.0.0.1:${row.http_port}/web/health`)).status).toBe(200);
    const page = await edgeRequest(m.stack, { hostname: dev.hostname, path: '/web/standin/echo' });
    expect(page.status, page.body).toBe(200);
    const config = await caddyConfig(m);
    expect(config).toContain(`"dial":"127.0.0.1:${row.http_port}"`);
    expect(config).not.toContain('odoo.marina.internal');
  });
});
