import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerConnection, withClient } from '../../src/adapters/postgres/admin.js';
import { as, type Browser, type TestApp } from '../helpers/app.js';
import {
  docker,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../helpers/docker.js';
import { type EdgeResponse, type EdgeStack, edgeRequest, startEdgeStack } from '../helpers/edge-stack.js';
import { followJob } from '../helpers/jobs.js';
import { odooSource } from '../helpers/odoo.js';
import { freePort } from '../helpers/process.js';
import { openWebsocket } from '../helpers/websocket-client.js';

/**
 * REAL Odoo 17 (ODOO_SOURCE) behind Marina's edge: a real Caddy 2.6 with certificates a real Pebble
 * issues on demand, pebble-challtestsrv as the DNS of the platform names and of a customer's
 * domain. A browser's login over HTTPS, the websocket route to Odoo's gevent process, a custom
 * primary domain in Odoo's web.base.url, and a staging clone that keeps its own URL.
 * test/edge-tls.test.ts runs the edge with the stand-in Odoo.
 */
const source = odooSource();
/** Odoo's `bus` addon holds the /websocket controller; a trimmed source tree may lack it. */
const hasBus = source ? existsSync(join(source, 'addons', 'bus')) : false;
const BASE_DOMAIN = 'odoo.test';
const CUSTOM_DOMAIN = 'erp.customer.test';

type InstanceView = { id: string; url: string; hostname: string; dbName: string; stage: string };
type InstanceRow = { container_name: string; http_port: number | null; gevent_port: number | null };

describe.skipIf(!source)('real Odoo 17 behind the edge (Caddy, Pebble, challtestsrv)', () => {
  const namespace = testNamespace();
  let stack: EdgeStack;
  let t: TestApp;
  let admin: Browser;
  let baseUrl: string;
  let headers: Record<string, string>;
  let projectId: string;
  let production: InstanceView;
  let credentials: { login: string; password: string };
  const timings: Record<string, number> = {};

  const api = (method: 'GET' | 'POST', url: string, payload?: unknown) => as(t, admin)(method, url, payload);
  const portSuffix = () => (stack.httpsPort === 443 ? '' : `:${stack.httpsPort}`);

  async function succeeded(jobId: string, timeoutMs: number): Promise<void> {
    const followed = await followJob(baseUrl, headers, jobId, timeoutMs);
    if (followed.job.status !== 'succeeded') console.log(followed.logs.slice(-40).join('\n'));
    expect(followed.job.error).toBeNull();
    expect(followed.job.status).toBe('succeeded');
  }

  async function instanceOf(id: string): Promise<InstanceView> {
    return (await api('GET', `/api/v1/instances/${id}`)).json().instance;
  }

  async function rowOf(id: string): Promise<InstanceRow> {
    return t.db
      .selectFrom('instances')
      .select(['container_name', 'http_port', 'gevent_port'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  }

  async function superuser(): Promise<ServerConnection> {
    const server = await t.services.databaseServers.forInstances('local');
    return t.services.databaseServers.connection(server);
  }

  /** A parameter as Odoo stores it (read with PostgreSQL's superuser: what Odoo itself will read). */
  async function param(db: string, key: string): Promise<string | undefined> {
    return withClient(await superuser(), db, async (c: pg.Client) => {
      const rows = await c.query<{ value: string }>('select value from ir_config_parameter where key = $1', [key]);
      return rows.rows[0]?.value;
    });
  }

  /** What Odoo printed (container logs: the HTTP workers' and the gevent process's lines alike). */
  async function odooLog(containerName: string): Promise<string> {
    const raw = await docker.getContainer(containerName).logs({ stdout: true, stderr: true, tail: 3000 });
    return raw.toString('utf8');
  }

  /** The first line of Odoo's log that matches, within a bounded wait. */
  async function logLine(containerName: string, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = (await odooLog(containerName)).split('\n').find((l) => pattern.test(l));
      if (line) return line;
      if (Date.now() > deadline) throw new Error(`Odoo logged no line matching ${pattern} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  function failureContext(): string {
    const logs = stack.logs();
    return `\n--- caddy:\n${logs.caddy.slice(-3_000)}\n--- pebble:\n${logs.pebble.slice(-1_500)}`;
  }

  function expectPebbleCertificate(response: EdgeResponse, hostname: string): void {
    expect(response.certificate?.subjectaltname, failureContext()).toBe(`DNS:${hostname}`);
    expect(response.certificate?.issuer.CN).toMatch(/^Pebble Intermediate CA /);
    expect(response.authorizationError).toBeNull();
    expect(response.authorized).toBe(true);
  }

  const cookieOf = (response: EdgeResponse): string | undefined => {
    const set = response.headers['set-cookie'];
    const session = (Array.isArray(set) ? set : set ? [set] : []).find((c) => c.startsWith('session_id='));
    return session?.split(';')[0];
  };

  /**
   * Signs in as a browser does, over HTTPS through the edge: the login page gives a session cookie
   * and its CSRF token, the form post answers a redirect into the web client with a new session.
   */
  async function browserLogin(hostname: string, login: string, password: string): Promise<string> {
    const page = await edgeRequest(stack, { hostname, path: '/web/login', timeoutMs: 30_000 });
    expect(page.status, failureContext()).toBe(200);
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1];
    expect(csrf, 'the login page holds a CSRF token').toBeDefined();
    const anonymous = cookieOf(page);
    expect(anonymous, 'the login page sets a session cookie').toBeDefined();

    const form = new URLSearchParams({ login, password, csrf_token: csrf ?? '', redirect: '' }).toString();
    const posted = await edgeRequest(stack, {
      hostname,
      path: '/web/login',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: anonymous ?? '' },
      body: form,
    });
    expect(posted.status, posted.body.slice(0, 2_000)).toBe(303);
    // Relative, or absolute on the very name and scheme the browser used (proxy_mode read X-Forwarded-*).
    const location = String(posted.headers.location);
    const path = location.startsWith('/') ? location : new URL(location).pathname;
    if (!location.startsWith('/')) expect(new URL(location).origin).toBe(`https://${hostname}${portSuffix()}`);
    expect(path).toMatch(/^\/(web|odoo)\b/);
    const session = cookieOf(posted) ?? anonymous ?? '';

    const client = await edgeRequest(stack, { hostname, path, headers: { cookie: session } });
    expect(client.status).toBe(200);
    return session;
  }

  /** The signed-in user of a session, asked as the web client does (JSON-RPC over HTTPS). */
  async function sessionUid(hostname: string, cookie: string): Promise<number | undefined> {
    const answer = await edgeRequest(stack, {
      hostname,
      path: '/web/session/get_session_info',
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: {} }),
    });
    expect(answer.status).toBe(200);
    return (JSON.parse(answer.body) as { result?: { uid?: number } }).result?.uid;
  }

  beforeAll(async () => {
    await requireDocker();
    await docker.getImage(TEST_IMAGES.runtime).inspect();
    stack = await startEdgeStack();
    const marina = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime,
      MARINA_ODOO_17_SOURCE: source ?? '',
      ...stack.marinaEnv(),
      MARINA_BASE_DOMAIN: BASE_DOMAIN,
      MARINA_EDGE_DNS_PORT: '0',
      // Caddy asks Marina (`ask`) before each issuance: Marina listens where its configuration says.
      MARINA_PORT: String(await freePort()),
    });
    ({ t, admin, baseUrl, headers } = marina);
    const started = Date.now();
    projectId = (
      await api('POST', '/api/v1/projects', { organization: 'acme', name: 'erp', odooVersion: '17.0' })
    ).json().project.id;
    // 1 CPU and 1 GiB: Odoo's multi-process mode (workers = 3, src/odoo/sizing.ts) with its gevent process.
    const created = await api('POST', '/api/v1/instances', {
      project: projectId,
      name: 'prod',
      stage: 'production',
      cpus: 1,
      memoryMb: 1024,
      adminLogin: 'owner@acme.test',
    });
    expect(created.statusCode, created.body).toBe(202);
    await succeeded(created.json().job.id, 420_000);
    production = await instanceOf(created.json().instance.id);
    // The password as Marina shows it to the organization (revealed on demand), not the creation answer.
    const revealed = await api('POST', `/api/v1/instances/${production.id}/credentials`);
    expect(revealed.statusCode, revealed.body).toBe(200);
    credentials = revealed.json().credentials;
    // Where Pebble's validator (and a visitor) finds the edge for the platform name.
    await stack.pointAtEdge(production.hostname);
    await t.services.edge.flush();
    timings.provision = Date.now() - started;
  }, 480_000);

  afterAll(async () => {
    console.log(`real Odoo 17 behind the edge, timings (ms): ${JSON.stringify(timings)}`);
    await t?.close();
    await stack?.stop();
    await removeNamespace(namespace);
  }, 120_000);

  it('serves production on https://<platform name> with a Pebble certificate; a browser signs in there', {
    timeout: 120_000,
  }, async () => {
    const started = Date.now();
    expect(production.hostname).toBe(`prod-erp-acme.${BASE_DOMAIN}`);
    expect(production.url).toBe(`https://${production.hostname}${portSuffix()}`);
    const row = await rowOf(production.id);
    expect(row.gevent_port, 'an instance with workers gets a gevent port').not.toBeNull();

    const page = await edgeRequest(stack, { hostname: production.hostname, path: '/web/login', timeoutMs: 45_000 });
    expect(page.status, failureContext()).toBe(200);
    expect(page.body).toContain('oe_login_form');
    expectPebbleCertificate(page, production.hostname);
    expect(page.headers['x-robots-tag']).toBeUndefined();

    const session = await browserLogin(production.hostname, credentials.login, credentials.password);
    expect(await sessionUid(production.hostname, session)).toBe(2);
    // A session cookie Odoo did not issue is nobody.
    expect(await sessionUid(production.hostname, 'session_id=forged')).toBeUndefined();
    // The administrator's sign-in through the proxy left Odoo's own URL on https and the platform
    // name (Odoo rewrites web.base.url at an admin's login from what proxy_mode makes of X-Forwarded-*).
    expect(await param(production.dbName, 'web.base.url')).toBe(production.url);
    timings.httpsLogin = Date.now() - started;
  });

  it("sends an upgrade to wss://<name>/websocket to Odoo's gevent process, not to its HTTP workers", {
    timeout: 90_000,
  }, async () => {
    const started = Date.now();
    const row = await rowOf(production.id);
    // Multi-process mode: the HTTP workers behind port 8069, and the gevent process behind 8072,
    // which Odoo starts after its workers (the health check does not wait for it).
    await logLine(row.container_name, /HTTP service \(werkzeug\) running on .*:8069/);
    await logLine(row.container_name, /Evented Service \(longpolling\) running on .*:8072/, 60_000);

    const throughEdge = `edge-${randomBytes(6).toString('hex')}`;
    const viaEdge = await openWebsocket({
      hostname: production.hostname,
      port: stack.httpsPort,
      path: `/websocket?version=17.0-1&probe=${throughEdge}`,
      tls: { ca: stack.issuingRootPem },
      readMs: 500,
    });
    // The gevent server logs its requests with the `longpolling` logger; the HTTP workers with `werkzeug`.
    const edgeLine = await logLine(row.container_name, new RegExp(throughEdge));
    expect(edgeLine).toMatch(/ longpolling: /);

    const direct = `direct-${randomBytes(6).toString('hex')}`;
    // Odoo's HTTP port where Marina itself reaches it: the container's address (no port is published).
    const odoo = new URL((await t.services.instances.internalUrl(await t.services.instances.row(production.id))) ?? '');
    const viaHttpPort = await openWebsocket({
      hostname: production.hostname,
      address: odoo.hostname,
      port: Number(odoo.port),
      path: `/websocket?version=17.0-1&probe=${direct}`,
      readMs: 500,
    });
    const directLine = await logLine(row.container_name, new RegExp(direct));
    expect(directLine).toMatch(/ werkzeug: /);
    expect(directLine).not.toMatch(/ longpolling: /);

    if (hasBus) {
      // Odoo's bus opened a websocket on the gevent process, and only there.
      expect(viaEdge.status).toBe(101);
      expect(String(viaEdge.headers.upgrade).toLowerCase()).toBe('websocket');
      expect(viaEdge.acceptMatches).toBe(true);
      expect(viaHttpPort.status).not.toBe(101);
    } else {
      // This Odoo tree has no `bus` addon, so no /websocket controller: Odoo's own 404, from the
      // gevent process (above), not the edge's maintenance page or an error of the proxy.
      console.warn(`*** ${source}/addons/bus is absent: no 101 from Odoo; the route is checked by Odoo's log. ***`);
      expect(viaEdge.status).toBe(404);
      expect(viaHttpPort.status).toBe(404);
    }
    timings.websocket = Date.now() - started;
  });

  it('makes a verified custom domain primary: web.base.url is https://<domain>, the platform name redirects to it', {
    timeout: 120_000,
  }, async () => {
    const started = Date.now();
    // The customer's DNS: the CNAME the domains page asks for (challtestsrv follows it for Pebble too).
    await stack.setCname(CUSTOM_DOMAIN, production.hostname);
    const added = await api('POST', `/api/v1/instances/${production.id}/domains`, {
      hostname: CUSTOM_DOMAIN,
      method: 'cname',
    });
    expect(added.statusCode, added.body).toBe(201);
    const domain = added.json().domain;
    if (domain.status !== 'verified') {
      const verified = await api('POST', `/api/v1/domains/${domain.id}/verify`);
      expect(verified.statusCode, verified.body).toBe(200);
      expect(verified.json().domain.status, JSON.stringify(verified.json().domain.found)).toBe('verified');
    }
    // Verified but not primary yet: Odoo still links to the platform name.
    expect(await param(production.dbName, 'web.base.url')).toBe(production.url);

    const primary = await api('POST', `/api/v1/domains/${domain.id}/primary`);
    expect(primary.statusCode, primary.body).toBe(200);
    expect(primary.json().domain.isPrimary).toBe(true);
    await t.services.edge.flush();

    const customUrl = `https://${CUSTOM_DOMAIN}${portSuffix()}`;
    expect(await param(production.dbName, 'web.base.url')).toBe(customUrl);
    expect(await param(production.dbName, 'web.base.url.freeze')).toBe('True');
    expect((await instanceOf(production.id)).url).toBe(customUrl);

    const served = await edgeRequest(stack, { hostname: CUSTOM_DOMAIN, path: '/web/login', timeoutMs: 45_000 });
    expect(served.status, failureContext()).toBe(200);
    expect(served.body).toContain('oe_login_form');
    expectPebbleCertificate(served, CUSTOM_DOMAIN);

    const platform = await edgeRequest(stack, { hostname: production.hostname, path: '/web/login?redirect=%2Fweb' });
    expect(platform.status).toBe(308);
    expect(platform.headers.location).toBe(`${customUrl}/web/login?redirect=%2Fweb`);

    // Signing in under the primary name keeps Odoo's URL there (frozen, whatever the request says).
    const session = await browserLogin(CUSTOM_DOMAIN, credentials.login, credentials.password);
    expect(await sessionUid(CUSTOM_DOMAIN, session)).toBe(2);
    expect(await param(production.dbName, 'web.base.url')).toBe(customUrl);
    timings.customDomain = Date.now() - started;
  });

  it('clones production into staging: the copy links to its own platform name and answers noindex over HTTPS', {
    timeout: 360_000,
  }, async () => {
    const started = Date.now();
    const clone = await api('POST', `/api/v1/instances/${production.id}/clone`, {
      newInstance: { project: projectId, name: 'staging', stage: 'staging', adminLogin: 'dev@acme.test' },
    });
    expect(clone.statusCode, clone.body).toBe(202);
    await succeeded(clone.json().job.id, 300_000);
    const staging = await instanceOf(clone.json().instance.id);
    timings.clone = Date.now() - started;
    expect(staging.hostname).toBe(`staging-erp-acme.${BASE_DOMAIN}`);
    expect(staging.url).toBe(`https://${staging.hostname}${portSuffix()}`);

    const stagingUrl = await param(staging.dbName, 'web.base.url');
    expect(stagingUrl).toBe(staging.url);
    expect(stagingUrl).not.toContain(CUSTOM_DOMAIN);
    expect(stagingUrl).not.toContain(production.hostname);
    // Production keeps its own.
    expect(await param(production.dbName, 'web.base.url')).toBe(`https://${CUSTOM_DOMAIN}${portSuffix()}`);

    await stack.pointAtEdge(staging.hostname);
    await t.services.edge.flush();
    const page = await edgeRequest(stack, { hostname: staging.hostname, path: '/web/login', timeoutMs: 45_000 });
    expect(page.status, failureContext()).toBe(200);
    expect(page.body).toContain('oe_login_form');
    expectPebbleCertificate(page, staging.hostname);
    expect(String(page.headers['x-robots-tag'])).toContain('noindex');

    // The copy's users are production's: the credentials Marina shows for it sign in over HTTPS.
    const shown = (await api('POST', `/api/v1/instances/${staging.id}/credentials`)).json().credentials;
    const session = await browserLogin(staging.hostname, shown.login, shown.password);
    expect(await sessionUid(staging.hostname, session)).toBe(2);
    expect(await param(staging.dbName, 'web.base.url')).toBe(staging.url);
    timings.staging = Date.now() - started;
  });
});
