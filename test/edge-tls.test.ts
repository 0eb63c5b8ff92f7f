import { X509Certificate } from 'node:crypto';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { probeCertificate } from '../src/modules/edge/certificate-probe.js';
import { as, type Browser, type TestApp } from './helpers/app.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from './helpers/docker.js';
import { expectLoginOnPebbleCertificate } from './helpers/edge-expect.js';
import { type EdgeStack, edgeRequest, startEdgeStack } from './helpers/edge-stack.js';
import { freePort } from './helpers/process.js';

/**
 * Marina's edge end to end with the real parts: Marina (in this process) with the stand-in Odoo in
 * Docker, writing the configuration of a real Caddy 2.6 that gets certificates on demand from a
 * real Pebble, which validates them against that Caddy through pebble-challtestsrv's DNS — the same
 * DNS Marina checks custom domains with.
 */

const BASE_DOMAIN = 'apps.marina.test';
const UPLOAD_LIMIT_MB = 1;
const PROXY_CHECK_MS = 300;
const namespace = testNamespace();
let stack: EdgeStack;
let t: TestApp;
let admin: Browser;
let api: ReturnType<typeof as>;
let marina: Awaited<ReturnType<typeof startDockerMarina>>;
let instance: { id: string; url: string; hostname: string };
const defaultRoots = getCACertificates('default');

beforeAll(async () => {
  await requireDocker();
  stack = await startEdgeStack();
  // Marina's own certificate checks (the domains page) trust what a browser of this test would.
  setDefaultCACertificates([...defaultRoots, stack.issuingRootPem]);
  marina = await startDockerMarina(
    namespace,
    {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
      ...stack.marinaEnv(),
      MARINA_BASE_DOMAIN: BASE_DOMAIN,
      MARINA_EDGE_DNS_PORT: '0',
      // The proxy asks Marina before every issuance (`ask`): it must know where Marina listens.
      MARINA_PORT: String(await freePort()),
      MARINA_EDGE_MAX_UPLOAD_MB: String(UPLOAD_LIMIT_MB),
    },
    // The watch that finds a proxy which lost its configuration, quick enough for a test.
    { edgeProxyCheckMs: PROXY_CHECK_MS },
  );
  ({ t, admin } = marina);
  api = as(t, admin);
  const provisioned = await provisionInstance({ ...marina, headers: marina.headers }, { name: 'main' });
  instance = (await api('GET', `/api/v1/instances/${provisioned.instance.id}`)).json().instance;
  // Where Pebble's validator (and a visitor) finds the edge for the platform name.
  await stack.pointAtEdge(instance.hostname);
  await t.services.edge.flush();
}, 240_000);

afterAll(async () => {
  setDefaultCACertificates(defaultRoots);
  await t?.close();
  await stack?.stop();
  await removeNamespace(namespace);
}, 60_000);

/** The name an instance answers under now (its primary domain once one is chosen). */
async function servedName(id: string): Promise<string> {
  return new URL((await api('GET', `/api/v1/instances/${id}`)).json().instance.url).hostname;
}

function failureContext(): string {
  const logs = stack.logs();
  return `\n--- caddy:\n${logs.caddy.slice(-4_000)}\n--- pebble:\n${logs.pebble.slice(-2_000)}`;
}

describe('the edge with real TLS (Caddy, Pebble, challtestsrv) and the stand-in Odoo', () => {
  it('serves a new instance on https://<its platform name> with a certificate Pebble issued on demand', async () => {
    expect(instance.hostname).toMatch(new RegExp(`^[a-z0-9-]+\\.${BASE_DOMAIN.replace(/\./g, '\\.')}$`));
    expect(instance.url).toBe(`https://${instance.hostname}:${stack.httpsPort}`);
    await expectLoginOnPebbleCertificate(stack, instance.hostname, failureContext);
    expect(stack.pebbleValidationsFor(instance.hostname)).toBeGreaterThanOrEqual(1);
  });

  it('refuses a certificate for a name Marina does not route, without reaching the CA', async () => {
    const stranger = `nobody.${BASE_DOMAIN}`;
    // Even pointed at the edge, the name gets nothing: Marina's `ask` says no.
    await stack.pointAtEdge(stranger);
    expect((await api('GET', `/api/v1/edge/ask?domain=${stranger}`)).statusCode).toBe(404);
    expect((await api('GET', `/api/v1/edge/ask?domain=${instance.hostname}`)).statusCode).toBe(200);
    const ordersBefore = stack.pebbleOrderCount();

    await expect(edgeRequest(stack, { hostname: stranger, timeoutMs: 10_000 })).rejects.toThrow(
      /alert|socket hang up|ECONNRESET/,
    );

    expect(stack.pebbleOrderCount()).toBe(ordersBefore);
    expect(stack.pebbleValidationsFor(stranger)).toBe(0);
    expect(await stack.dnsQueriesFor(stranger)).toEqual([]);
  });

  it("reports the issuer and expiry of the instance's certificate (certificate-probe, and the domains page)", async () => {
    const served = await edgeRequest(stack, { hostname: instance.hostname, timeoutMs: 30_000 });
    const leaf = new X509Certificate(served.certificate?.raw ?? Buffer.alloc(0));

    const state = await probeCertificate({ host: '127.0.0.1', port: stack.httpsPort }, instance.hostname, {
      ca: stack.issuingRootPem,
    });

    expect(state).toMatchObject({
      issuer: expect.stringMatching(/^Pebble Intermediate CA /),
      subject: instance.hostname,
      notAfter: new Date(leaf.validTo).toISOString(),
      trusted: true,
    });
    expect(state.error).toBeUndefined();

    const page = (await api('GET', `/api/v1/instances/${instance.id}/domains`)).json();
    expect(page.platform.hostname).toBe(instance.hostname);
    expect(page.platform.certificate).toMatchObject({
      issuer: state.issuer,
      subject: instance.hostname,
      notAfter: state.notAfter,
    });
    expect(page.platform.certificate.error).toBeUndefined();
  });

  it('gives a verified custom domain its own Pebble certificate', async () => {
    const custom = 'shop.customer.test';
    // The customer's DNS: the CNAME the domains page asks for (challtestsrv follows it for Pebble).
    await stack.setCname(custom, instance.hostname);

    // Counted before the domain is added: the proxy may order its certificate as soon as the domain
    // is verified, before the request below (on a loaded machine, before the API even answers).
    const ordersBefore = stack.pebbleOrderCount();
    const added = await api('POST', `/api/v1/instances/${instance.id}/domains`, { hostname: custom, method: 'cname' });
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json().domain.status).toBe('verified');

    const response = await edgeRequest(stack, { hostname: custom, path: '/web/login', timeoutMs: 30_000 });

    expect(response.certificate?.subjectaltname, failureContext()).toBe(`DNS:${custom}`);
    expect(response.certificate?.issuer.CN).toMatch(/^Pebble Intermediate CA /);
    expect(response.authorized).toBe(true);
    // Counted from Pebble's log, read from its pipe a moment after the handshake may have ended.
    await vi.waitFor(() => expect(stack.pebbleOrderCount()).toBe(ordersBefore + 1), { timeout: 10_000, interval: 100 });
    // Not the primary name (yet): the instance answers under its one canonical name.
    expect(response.status).toBe(308);
    expect(response.headers.location).toBe(`https://${instance.hostname}:${stack.httpsPort}/web/login`);

    const state = await probeCertificate({ host: '127.0.0.1', port: stack.httpsPort }, custom, {
      ca: stack.issuingRootPem,
    });
    expect(state).toMatchObject({ subject: custom, trusted: true, issuer: expect.stringMatching(/^Pebble /) });
  });

  it('serves the instance under its custom domain once it is primary; the platform name redirects to it', async () => {
    const custom = 'shop.customer.test';
    const listed = (await api('GET', `/api/v1/instances/${instance.id}/domains`)).json();
    const domain = listed.domains.find((d: { hostname: string }) => d.hostname === custom);
    const primary = await api('POST', `/api/v1/domains/${domain.id}/primary`);
    expect(primary.statusCode, primary.body).toBe(200);
    await t.services.edge.flush();

    const served = await edgeRequest(stack, { hostname: custom, path: '/web/login', timeoutMs: 30_000 });
    expect(served.status, failureContext()).toBe(200);
    expect(served.body).toContain('oe_login_form');
    expect(served.certificate?.subjectaltname).toBe(`DNS:${custom}`);
    expect(served.authorized).toBe(true);

    const platform = await edgeRequest(stack, { hostname: instance.hostname, path: '/web/login?db=x' });
    expect(platform.status).toBe(308);
    expect(platform.headers.location).toBe(`https://${custom}:${stack.httpsPort}/web/login?db=x`);
    expect(platform.authorized).toBe(true);
  });

  it('redirects plain HTTP on the edge port to https', async () => {
    const response = await edgeRequest(stack, {
      hostname: instance.hostname,
      scheme: 'http',
      path: '/web/login?redirect=%2Fodoo',
    });
    expect(response.status).toBe(308);
    expect(response.headers.location).toBe(
      `https://${instance.hostname}:${stack.httpsPort}/web/login?redirect=%2Fodoo`,
    );
  });

  it('refuses a body over MARINA_EDGE_MAX_UPLOAD_MB with 413 before Odoo, and passes one of the limit to Odoo', async () => {
    const limit = UPLOAD_LIMIT_MB * 1024 * 1024;
    const served = await servedName(instance.id);
    const upload = (bytes: number) =>
      edgeRequest(stack, {
        hostname: served,
        method: 'POST',
        path: '/web/standin/echo',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes) },
        body: 'x'.repeat(bytes),
        timeoutMs: 30_000,
      });

    const within = await upload(limit);
    expect(within.status, failureContext()).toBe(200);
    // The stand-in read the whole body before answering: it saw all of it.
    expect(JSON.parse(within.body).headers['content-length']).toBe(String(limit));

    const over = await upload(limit + 1);
    expect(over.status, over.body).toBe(413);
    expect(over.body).toContain('too large');
  });

  it('loads its configuration again into a proxy restarted without --resume (the watch)', async () => {
    const served = await servedName(instance.id);
    const loadsBefore = t.services.edge.loads;

    await stack.restartCaddy({ resume: false });

    // Caddy answered the load (counted) once it runs the configuration again.
    await expect
      .poll(() => t.services.edge.loads, { timeout: 20 * PROXY_CHECK_MS, interval: 50 })
      .toBeGreaterThan(loadsBefore);
    expect(Object.keys((await stack.caddyConfig('apps/http/servers')) as object)).toContain('edge_public');
    const response = await edgeRequest(stack, { hostname: served, path: '/web/login', timeoutMs: 30_000 });
    expect(response.status, failureContext()).toBe(200);
    expect(response.body).toContain('oe_login_form');
  });
});

describe('an apex domain with its www, both on Pebble certificates', () => {
  const apex = 'customer-shop.test';
  const www = `www.${apex}`;
  let shop: { id: string; hostname: string };

  beforeAll(async () => {
    const provisioned = await provisionInstance(marina, { project: 'web', name: 'shop' });
    shop = (await api('GET', `/api/v1/instances/${provisioned.instance.id}`)).json().instance;
    await stack.pointAtEdge(shop.hostname);
    await t.services.edge.flush();
  }, 240_000);

  it('verifies the apex by A record to the proxy and TXT token, www by CNAME, and serves both', async () => {
    // Marina looks at a name's certificate once it is verified: issuance may start before a visitor.
    const ordersBefore = stack.pebbleOrderCount();
    const added = await api('POST', `/api/v1/instances/${shop.id}/domains`, { hostname: apex });
    expect(added.statusCode, added.body).toBe(201);
    const domain = added.json().domain;
    expect(domain.method).toBe('apex');
    // Nothing in DNS yet: not verified, so not routed.
    expect(domain.status).toBe('pending');
    expect((await api('GET', `/api/v1/edge/ask?domain=${apex}`)).statusCode).toBe(404);
    const records = domain.records as { type: string; name: string; value: string }[];
    expect(records).toEqual([
      { type: 'A', name: apex, value: '127.0.0.1' },
      { type: 'TXT', name: `_marina-challenge.${apex}`, value: expect.any(String) },
    ]);
    // The customer's DNS, exactly as the page asks: the proxy's address and the token.
    await stack.setA(
      apex,
      records.filter((r) => r.type === 'A').map((r) => r.value),
    );
    await stack.setTxt(`_marina-challenge.${apex}`, records.find((r) => r.type === 'TXT')?.value ?? '');
    const verified = await api('POST', `/api/v1/domains/${domain.id}/verify`);
    expect(verified.json().domain.status, verified.body).toBe('verified');

    await stack.setCname(www, shop.hostname);
    const wwwAdded = await api('POST', `/api/v1/instances/${shop.id}/domains`, { hostname: www });
    expect(wwwAdded.statusCode, wwwAdded.body).toBe(201);
    expect(wwwAdded.json().domain).toMatchObject({ method: 'cname', status: 'verified' });

    const primary = await api('POST', `/api/v1/domains/${domain.id}/primary`);
    expect(primary.statusCode, primary.body).toBe(200);
    await t.services.edge.flush();
    expect(await servedName(shop.id)).toBe(apex);

    const served = await edgeRequest(stack, { hostname: apex, path: '/web/login', timeoutMs: 30_000 });
    expect(served.status, failureContext()).toBe(200);
    expect(served.body).toContain('oe_login_form');
    expect(served.certificate?.subjectaltname).toBe(`DNS:${apex}`);
    expect(served.certificate?.issuer.CN).toMatch(/^Pebble Intermediate CA /);
    expect(served.authorized).toBe(true);

    const redirected = await edgeRequest(stack, { hostname: www, path: '/shop?page=2', timeoutMs: 30_000 });
    expect(redirected.status, failureContext()).toBe(308);
    expect(redirected.headers.location).toBe(`https://${apex}:${stack.httpsPort}/shop?page=2`);
    expect(redirected.certificate?.subjectaltname).toBe(`DNS:${www}`);
    expect(redirected.certificate?.issuer.CN).toMatch(/^Pebble Intermediate CA /);
    expect(redirected.authorized).toBe(true);

    // One order each, validated by Pebble against this edge through the customer's records.
    expect(stack.pebbleOrderCount()).toBe(ordersBefore + 2);
    expect(stack.pebbleValidationsFor(apex)).toBeGreaterThanOrEqual(1);
    expect(stack.pebbleValidationsFor(www)).toBeGreaterThanOrEqual(1);
  });

  it('orders no certificate for a name verified by TXT alone, which may point elsewhere still', async () => {
    const elsewhere = `shop-elsewhere.${apex}`;
    const added = await api('POST', `/api/v1/instances/${shop.id}/domains`, { hostname: elsewhere, method: 'txt' });
    expect(added.statusCode, added.body).toBe(201);
    const domain = added.json().domain;
    const token = (domain.records as { type: string; value: string }[]).find((r) => r.type === 'TXT')?.value ?? '';
    await stack.setTxt(`_marina-challenge.${elsewhere}`, token);
    const verified = await api('POST', `/api/v1/domains/${domain.id}/verify`);
    expect(verified.json().domain.status, verified.body).toBe('verified');
    // A verification starts a certificate look in the background, and the list looks at stale ones.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const listed = (await api('GET', `/api/v1/instances/${shop.id}/domains`)).json();
    const row = listed.domains.find((d: { hostname: string }) => d.hostname === elsewhere);
    expect(row.certificate ?? null).toBeNull();
    // No handshake for the name reached the proxy, so no order: the CA never tried a name not
    // pointing here (a failing order would be retried, using up its failed-validation allowance).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(stack.logs().caddy).not.toContain(elsewhere);
    expect(stack.pebbleValidationsFor(elsewhere)).toBe(0);
  });
});
