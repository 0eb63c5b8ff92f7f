import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAINTENANCE_RETRY_SECONDS } from '../src/modules/edge/caddy-config.js';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from './helpers/app.js';
import { randomPortRange, removeNamespace, requireDocker, TEST_IMAGES, testNamespace } from './helpers/docker.js';
import { type EdgeStack, edgeRequest, startEdgeStack } from './helpers/edge-stack.js';
import { makeProject } from './helpers/factories.js';
import { followJob } from './helpers/jobs.js';
import { freePort } from './helpers/process.js';
import { makeSelfSignedCertificate } from './helpers/test-ca.js';
import { openWebsocket } from './helpers/websocket-client.js';

/**
 * The edge's two hops on real parts: Caddy 2.6 (the edge-stack helper's), Marina's edge DNS, real
 * Docker running the Odoo stand-in. Certificates: an operator wildcard for the platform names and
 * Caddy's local CA (MARINA_ACME_CA=internal) for custom domains; edge-tls tests Pebble's ACME.
 */

const BASE = 'apps.test';
const namespace = testNamespace();
let stack: EdgeStack;
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let headers: Record<string, string>;
let certDir: string;
let dev: { id: string; hostname: string };
let prod: { id: string; hostname: string };

async function provision(
  call: ReturnType<typeof as>,
  project: string,
  fields: { name: string; stage: string; memoryMb: number },
) {
  const made = await call('POST', '/api/v1/instances', { project, adminLogin: 'o@acme.test', ...fields });
  expect(made.statusCode, made.body).toBe(202);
  const { instance, job } = made.json<{ instance: { id: string }; job: { id: string } }>();
  const done = await followJob(baseUrl, headers, job.id);
  expect(done.job.status, JSON.stringify(done.job.error)).toBe('succeeded');
  return (await call('GET', `/api/v1/instances/${instance.id}`)).json<{
    instance: { id: string; hostname: string; url: string };
  }>().instance;
}

async function lifecycle(id: string, action: 'start' | 'stop', confirm?: string) {
  const response = await as(t, admin)('POST', `/api/v1/instances/${id}/${action}`, confirm ? { confirm } : {});
  expect(response.statusCode, response.body).toBe(202);
  const done = await followJob(baseUrl, headers, response.json<{ job: { id: string } }>().job.id);
  expect(done.job.status, JSON.stringify(done.job.error)).toBe('succeeded');
}

/** What the stand-in saw: path, the port the request came in on, its headers. */
const echoOf = (body: string) => JSON.parse(body) as { path: string; port: number; headers: Record<string, string> };

/** Waits for the coalesced syncs the instance events asked for, then says how many loads Caddy took. */
async function settledLoads(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 400));
  await t.services.edge.flush();
  return t.services.edge.loads;
}

beforeAll(async () => {
  await requireDocker();
  stack = await startEdgeStack();
  certDir = await mkdtemp(join(tmpdir(), 'marina-edge-wildcard-'));
  // An operator's wildcard certificate for the platform names (self-signed: the client does not check it here).
  const wildcard = await makeSelfSignedCertificate(certDir, 'wildcard', { names: [`*.${BASE}`], days: 2 });
  const port = await freePort();
  t = await createTestApp({
    MARINA_NAMESPACE: namespace,
    MARINA_POSTGRES_IMAGE: TEST_IMAGES.postgres,
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_INSTANCE_BIND: '127.0.0.1',
    MARINA_INSTANCE_PORTS: randomPortRange(),
    MARINA_BACKUPS_DIR: join(tmpdir(), `marina-backups-${namespace}`),
    ...stack.marinaEnv(),
    MARINA_HOST: '127.0.0.1',
    MARINA_PORT: String(port),
    MARINA_BASE_DOMAIN: BASE,
    MARINA_ACME_CA: 'internal',
    MARINA_EDGE_WILDCARD_CERT: wildcard.certificatePath,
    MARINA_EDGE_WILDCARD_KEY: wildcard.keyPath,
  });
  await t.services.startBackground();
  // Caddy asks Marina (ask endpoint) at the configured MARINA_PORT.
  await t.app.listen({ host: '127.0.0.1', port });
  baseUrl = `http://127.0.0.1:${port}`;
  admin = await adminBrowser(t);
  headers = { cookie: admin.cookie, 'x-marina-csrf': admin.csrf };
  const call = as(t, admin);
  await call('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
  const project = await makeProject(call, { name: 'erp', odooVersion: '17.0' });
  dev = await provision(call, project.id, { name: 'dev', stage: 'development', memoryMb: 768 });
  prod = await provision(call, project.id, { name: 'prod', stage: 'production', memoryMb: 2048 });
  await t.services.edge.flush();
}, 300_000);

afterAll(async () => {
  await t?.close();
  await stack?.stop();
  await removeNamespace(namespace);
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

describe('the edge routes by name through two hops', () => {
  it('gives each instance a platform name from the pattern and an https URL', async () => {
    expect(dev.hostname).toBe(`dev-erp-acme.${BASE}`);
    expect(prod.hostname).toBe(`prod-erp-acme.${BASE}`);
    const view = (await as(t, admin)('GET', `/api/v1/instances/${dev.id}`)).json<{ instance: { url: string } }>();
    expect(view.instance.url).toBe(`https://dev-erp-acme.${BASE}:${stack.httpsPort}`);
  });

  it("reaches the instance's Odoo by its platform name, without passing a client's X-Forwarded-*", async () => {
    const response = await edgeRequest(stack, {
      hostname: dev.hostname,
      path: '/web/standin/echo',
      headers: { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Host': 'evil.test', 'X-Forwarded-Proto': 'http' },
    });
    expect(response.status, response.body).toBe(200);
    const echo = echoOf(response.body);
    expect(echo.port).toBe(8069);
    expect(echo.headers['x-forwarded-for']).not.toContain('6.6.6.6');
    expect(echo.headers['x-forwarded-for']).toContain('127.0.0.1');
    // The original Host (with the edge's port, as the client sent it), never the client's X-Forwarded-Host.
    expect(echo.headers['x-forwarded-host']).toBe(`${dev.hostname}:${stack.httpsPort}`);
    expect(echo.headers['x-forwarded-proto']).toBe('https');
    expect(echo.headers.host).toContain(dev.hostname);
  });

  it('answers a name nobody routes with the "No site here" page', async () => {
    const response = await edgeRequest(stack, { hostname: `nothing-here.${BASE}`, path: '/' });
    expect(response.status).toBe(404);
    expect(response.body).toContain('No site here');
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const response = await edgeRequest(stack, { hostname: dev.hostname, scheme: 'http', path: '/web/login?x=1' });
    expect(response.status).toBe(308);
    expect(response.headers.location).toBe(`https://${dev.hostname}:${stack.httpsPort}/web/login?x=1`);
  });

  it('marks non-production instances noindex, not production', async () => {
    const devAnswer = await edgeRequest(stack, { hostname: dev.hostname, path: '/web/health' });
    expect(devAnswer.status).toBe(200);
    expect(devAnswer.headers['x-robots-tag']).toContain('noindex');
    const prodAnswer = await edgeRequest(stack, { hostname: prod.hostname, path: '/web/health' });
    expect(prodAnswer.status).toBe(200);
    expect(prodAnswer.headers['x-robots-tag']).toBeUndefined();
  });

  it('sends /websocket to the gevent port of an instance with workers', async () => {
    const row = await t.db
      .selectFrom('instances')
      .select('gevent_port')
      .where('id', '=', prod.id)
      .executeTakeFirstOrThrow();
    expect(row.gevent_port).not.toBeNull();
    const socket = await edgeRequest(stack, { hostname: prod.hostname, path: '/websocket' });
    expect(socket.status, socket.body).toBe(200);
    expect(echoOf(socket.body).port).toBe(8072);
    const page = await edgeRequest(stack, { hostname: prod.hostname, path: '/web/standin/echo' });
    expect(echoOf(page.body).port).toBe(8069);
    // A real upgrade crosses both hops and opens a websocket on the gevent port: the server's first
    // frame comes back through Caddy, and Caddy set X-Forwarded-* on the way in.
    const opened = await openWebsocket({
      port: stack.httpsPort,
      hostname: prod.hostname,
      path: '/websocket?version=17.0-1',
      tls: {},
    });
    expect(opened.status).toBe(101);
    expect(opened.acceptMatches).toBe(true);
    expect(opened.messages).toHaveLength(1);
    const frame = echoOf(opened.messages[0] ?? '{}');
    expect(frame.port).toBe(8072);
    expect(frame.headers['x-forwarded-proto']).toBe('https');
    expect(frame.headers['x-forwarded-host']).toBe(`${prod.hostname}:${stack.httpsPort}`);
    // Without workers, no gevent port: /websocket goes to the HTTP port.
    const noWorkers = await t.db
      .selectFrom('instances')
      .select('gevent_port')
      .where('id', '=', dev.id)
      .executeTakeFirstOrThrow();
    expect(noWorkers.gevent_port).toBeNull();
  });

  it('answers the maintenance page while stopped and Odoo again after start, with no proxy load', {
    timeout: 180_000,
  }, async () => {
    const before = await settledLoads();
    await lifecycle(dev.id, 'stop');
    const stopped = await edgeRequest(stack, { hostname: dev.hostname, path: '/web/login' });
    expect(stopped.status).toBe(503);
    expect(stopped.headers['retry-after']).toBe(String(MAINTENANCE_RETRY_SECONDS));
    expect(stopped.body).toContain('maintenance');
    await lifecycle(dev.id, 'start');
    const started = await edgeRequest(stack, { hostname: dev.hostname, path: '/web/standin/echo' });
    expect(started.status).toBe(200);
    expect(await settledLoads()).toBe(before);
  });

  it('routes a verified custom domain at once, without a proxy load', async () => {
    const before = await settledLoads();
    const host = 'shop.customer.test';
    expect((await t.app.inject({ url: `/api/v1/edge/ask?domain=${host}` })).statusCode).toBe(404);
    const instance = await t.db
      .selectFrom('instances')
      .select('organization_id')
      .where('id', '=', dev.id)
      .executeTakeFirstOrThrow();
    await t.db
      .insertInto('domains')
      .values({
        organization_id: instance.organization_id,
        instance_id: dev.id,
        hostname: host,
        method: 'cname',
        token: 't',
        status: 'verified',
      })
      .execute();
    expect((await t.app.inject({ url: `/api/v1/edge/ask?domain=${host.toUpperCase()}` })).statusCode).toBe(200);
    // Not the primary name: the instance's own server sends it to its one canonical name.
    const response = await edgeRequest(stack, { hostname: host, path: '/web/login?a=b' });
    expect(response.status, response.body).toBe(308);
    expect(response.headers.location).toBe(`https://${dev.hostname}:${stack.httpsPort}/web/login?a=b`);
    expect(await settledLoads()).toBe(before);
  });

  it('enforces basic-auth protection and an allow-list', async () => {
    const before = await settledLoads();
    const hash = await bcrypt.hash('open sesame', 10);
    await t.db
      .updateTable('instances')
      .set({ protection: { kind: 'basic', username: 'dev', password: 'unused', hash } as never })
      .where('id', '=', dev.id)
      .execute();
    t.services.edge.sync('test: protection');
    expect(await settledLoads()).toBe(before + 1);
    const refused = await edgeRequest(stack, { hostname: dev.hostname, path: '/web/standin/echo' });
    expect(refused.status).toBe(401);
    expect(String(refused.headers['www-authenticate'])).toContain('Basic');
    const wrong = await edgeRequest(stack, {
      hostname: dev.hostname,
      path: '/web/standin/echo',
      headers: { Authorization: `Basic ${Buffer.from('dev:nope').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    const right = await edgeRequest(stack, {
      hostname: dev.hostname,
      path: '/web/standin/echo',
      headers: { Authorization: `Basic ${Buffer.from('dev:open sesame').toString('base64')}` },
    });
    expect(right.status).toBe(200);

    await t.db
      .updateTable('instances')
      .set({ protection: { kind: 'allow', addresses: ['10.9.9.0/24'] } })
      .where('id', '=', dev.id)
      .execute();
    t.services.edge.sync('test: allow-list');
    await settledLoads();
    // A client claiming an allowed address in X-Forwarded-For is still the client it is.
    const outside = await edgeRequest(stack, {
      hostname: dev.hostname,
      path: '/web/standin/echo',
      headers: { 'X-Forwarded-For': '10.9.9.9' },
    });
    expect(outside.status).toBe(403);
    await t.db
      .updateTable('instances')
      .set({ protection: { kind: 'allow', addresses: ['127.0.0.1'] } })
      .where('id', '=', dev.id)
      .execute();
    t.services.edge.sync('test: allow-list');
    await settledLoads();
    const inside = await edgeRequest(stack, { hostname: dev.hostname, path: '/web/standin/echo' });
    expect(inside.status).toBe(200);
    await t.db.updateTable('instances').set({ protection: null }).where('id', '=', dev.id).execute();
    t.services.edge.sync('test: no protection');
    await settledLoads();
  });

  it('answers the ask endpoint for platform names, and validates its input', async () => {
    const yes = await t.app.inject({ url: `/api/v1/edge/ask?domain=${prod.hostname}` });
    expect(yes.statusCode).toBe(200);
    const no = await t.app.inject({ url: `/api/v1/edge/ask?domain=other.${BASE}` });
    expect(no.statusCode).toBe(404);
    const bad = await t.app.inject({ url: '/api/v1/edge/ask?domain=a%20b' });
    expect(bad.statusCode).toBe(400);
  });

  it("routes an instance on a cluster node to the node's address; never one of a host the proxy cannot reach", async () => {
    // Hosts that are never contacted here: the instance is moved onto them in the database only.
    await t.db
      .insertInto('hosts')
      .values([
        { id: 'far', name: 'far', docker_host: 'tcp://192.0.2.10:2376' },
        { id: 'node7', name: 'node7', docker_host: 'tcp://192.0.2.17:2376', role: 'worker', address: '192.0.2.17' },
      ])
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const ask = () => as(t, admin)('GET', `/api/v1/edge/ask?domain=${dev.hostname}`);
    const routed = async () => (await t.services.edge.currentState()).instances.find((i) => i.id === dev.id);
    try {
      // A host that is neither this machine nor a node of the cluster: its ports are not this
      // machine's loopback ports, which may be another tenant's instance.
      await t.db.updateTable('instances').set({ host_id: 'far' }).where('id', '=', dev.id).execute();
      expect((await ask()).statusCode).toBe(404);
      expect(await routed()).toBeUndefined();
      // A cluster node: the proxy dials the port published there, at the node's address.
      await t.db.updateTable('instances').set({ host_id: 'node7' }).where('id', '=', dev.id).execute();
      expect((await ask()).statusCode).toBe(200);
      const row = await t.services.instances.row(dev.id);
      expect((await routed())?.httpUpstream).toBe(`192.0.2.17:${row.http_port}`);
    } finally {
      await t.db.updateTable('instances').set({ host_id: 'local' }).where('id', '=', dev.id).execute();
    }
    expect((await ask()).statusCode).toBe(200);
  });
});
