import { X509Certificate } from 'node:crypto';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { WildcardCertificates } from '../src/modules/edge/wildcard/renewer.js';
import { SecretBox } from '../src/platform/secrets/secret-box.js';
import { MemoryRuntime } from '../src/runtime/memory.js';
import { adminBrowser, as, createTestApp, type TestApp } from './helpers/app.js';
import { type EdgeStack, edgeRequest, startEdgeStack } from './helpers/edge-stack.js';
import { makeOrganization, makeProject, requestInstance } from './helpers/factories.js';
import { type KnotServer, startKnot } from './helpers/knot.js';
import { freePort } from './helpers/process.js';

/**
 * The wildcard certificate Marina obtains itself (MARINA_EDGE_WILDCARD_DNS01=rfc2136) with the real
 * parts: Knot serves the base zone and takes Marina's TSIG-signed updates; Pebble validates DNS-01
 * by asking that Knot; a real Caddy 2.6 gets the certificate from Marina's configuration. Instances
 * live on the in-memory runtime: what is checked is the certificate the edge presents for them.
 */

const BASE = 'wild.marina.test';
const CHALLENGE = `_acme-challenge.${BASE}`;
const DAY_MS = 24 * 60 * 60 * 1000;
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
const defaultRoots = getCACertificates('default');
let knot: KnotServer;
let stack: EdgeStack;
let t: TestApp;
let instance: { id: string; hostname: string };
let api: ReturnType<typeof as>;

beforeAll(async () => {
  knot = await startKnot(BASE);
  // Pebble asks Knot, and never reuses an authorization: every order is validated through the DNS.
  stack = await startEdgeStack({ pebbleDnsServer: knot.address, pebbleEnv: { PEBBLE_AUTHZREUSE: '0' } });
  setDefaultCACertificates([...defaultRoots, stack.issuingRootPem]);
  t = await createTestApp(
    {
      ...stack.marinaEnv(),
      MARINA_NAMESPACE: 'mtwilddns01',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
      MARINA_BASE_DOMAIN: BASE,
      MARINA_EDGE_DNS_PORT: '0',
      MARINA_PORT: String(await freePort()),
      MARINA_EDGE_WILDCARD_DNS01: 'rfc2136',
      MARINA_EDGE_DNS01_SERVER: knot.address,
      MARINA_EDGE_DNS01_TSIG: knot.keySetting,
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  api = as(t, await adminBrowser(t));
  await makeOrganization(api, { slug: 'acme', name: 'ACME' });
  const project = await makeProject(api, { organization: 'acme', name: 'erp' });
  const made = await requestInstance(api, { project: project.id, name: 'main' });
  const row = await t.services.instances.row(made.instance.id);
  instance = { id: row.id, hostname: row.hostname ?? '' };
  // The first certificate, asked for at start: wait for that attempt, then for the proxy's load.
  await wildcard().check();
  await t.services.edge.flush();
}, 120_000);

afterAll(async () => {
  setDefaultCACertificates(defaultRoots);
  await t?.close();
  await stack?.stop();
  await knot?.stop();
}, 60_000);

function wildcard() {
  const service = t.services.edge.wildcard;
  if (!service) throw new Error('the edge has no DNS-01 wildcard: MARINA_EDGE_WILDCARD_DNS01 was not read');
  return service;
}

/** The certificate the edge presents for the name (a TLS handshake as a browser makes it). */
async function served(hostname: string): Promise<X509Certificate> {
  const response = await edgeRequest(stack, { hostname, timeoutMs: 15_000 });
  return new X509Certificate(response.certificate?.raw ?? Buffer.alloc(0));
}

/** The challenge TXT values each change of Knot's journal added and removed (kjournalprint's text). */
function challengeChanges(journal: string): { added: string[]; removed: string[] }[] {
  const changes: { added: string[]; removed: string[] }[] = [];
  let section: 'added' | 'removed' | undefined;
  for (const line of journal.split('\n')) {
    if (line.startsWith(';; Changes between')) changes.push({ added: [], removed: [] });
    else if (line === ';; Added') section = 'added';
    else if (line === ';; Removed') section = 'removed';
    else if (section && line.startsWith(`${CHALLENGE}.`) && /\sTXT\s/.test(line))
      changes.at(-1)?.[section].push(line.slice(line.indexOf('"')));
  }
  return changes.filter((c) => c.added.length > 0 || c.removed.length > 0);
}

function context(): string {
  const logs = stack.logs();
  return `\n--- pebble:\n${logs.pebble.slice(-3_000)}\n--- knot:\n${knot.logs().slice(-2_000)}\n--- caddy:\n${logs.caddy.slice(-2_000)}`;
}

describe('the wildcard certificate through DNS-01 (Knot, Pebble, Caddy)', () => {
  it('is obtained from Pebble at start: the challenge TXT went into Knot for the order and is gone after', async () => {
    const status = await wildcard().status();
    expect(status.lastError, context()).toBeNull();
    expect(status.notAfter).toBeInstanceOf(Date);
    // One order, for the wildcard and the base name (Pebble validated both through Knot).
    expect(stack.pebbleOrderCount(), context()).toBe(1);
    // Knot's journal: one change added both challenge values, a later one removed exactly those.
    const journal = await knot.journal();
    const changes = challengeChanges(journal);
    expect(changes.length, journal).toBe(2);
    expect(changes[0]?.added.length, journal).toBe(2);
    expect(changes[1]?.removed.sort(), journal).toEqual(changes[0]?.added.sort());
    expect(await knot.txt(CHALLENGE)).toEqual([]);
  });

  it("is what the edge presents for an instance's platform name; no order was made for that name", async () => {
    const certificate = await served(instance.hostname);
    expect(certificate.subjectAltName).toContain(`DNS:*.${BASE}`);
    expect(certificate.subjectAltName).toContain(`DNS:${BASE}`);
    expect(certificate.issuer).toMatch(/Pebble Intermediate CA/);
    expect(certificate.checkHost(instance.hostname)).toBe(`*.${BASE}`);
    expect(stack.pebbleOrderCount()).toBe(1);
    expect(stack.pebbleValidationsFor(instance.hostname)).toBe(0);
    // The domains page's platform certificate (Marina's own probe of the edge) shows it.
    const page = (await api('GET', `/api/v1/instances/${instance.id}/domains`)).json();
    expect(page.platform.certificate).toMatchObject({
      issuer: expect.stringMatching(/^Pebble Intermediate CA/),
      notAfter: new Date(certificate.validTo).toISOString(),
    });
    expect(page.platform.certificate.error).toBeUndefined();
  });

  it('is renewed 30 days before it expires, and the edge serves the new one', async () => {
    const before = await served(instance.hostname);
    const notAfter = new Date(before.validTo);
    const orders = stack.pebbleOrderCount();
    // 31 days before the end: not due yet.
    t.clock.set(new Date(notAfter.getTime() - 31 * DAY_MS));
    await wildcard().check();
    expect(stack.pebbleOrderCount()).toBe(orders);

    // Due: two checks at once (the 12-hour timer and a retry, say) make one order.
    t.clock.set(new Date(notAfter.getTime() - 29 * DAY_MS));
    await Promise.all([wildcard().check(), wildcard().check()]);
    expect((await wildcard().status()).lastError, context()).toBeNull();
    expect(stack.pebbleOrderCount()).toBe(orders + 1);
    await t.services.edge.flush();
    const after = await served(instance.hostname);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.subjectAltName).toContain(`DNS:*.${BASE}`);
    expect(await knot.txt(CHALLENGE)).toEqual([]);
  });

  it('keeps serving the certificate it has when the DNS server refuses the update, and records why', async () => {
    const before = await served(instance.hostname);
    // The zone's key changed on the server: Marina's updates are now signed with a wrong secret.
    await knot.rotateKey();
    t.clock.set(new Date(new Date(before.validTo).getTime() - 29 * DAY_MS));
    await wildcard().check();

    const status = await wildcard().status();
    expect(status.lastError).toMatch(/refused the update \(NOTAUTH\).*BADSIG/);
    expect(status.failures).toBe(1);
    expect(status.notAfter?.toISOString()).toBe(new Date(before.validTo).toISOString());
    await t.services.edge.flush();
    expect((await served(instance.hostname)).serialNumber).toBe(before.serialNumber);
    expect(await knot.txt(CHALLENGE)).toEqual([]);
  });

  it('retries a refused attempt by itself, with backoff, until the DNS server takes the update', async () => {
    // A second wildcard, for a name deeper in the same zone, with a retry a fraction of a second away.
    const domain = `deep.${BASE}`;
    const key = knot.key;
    let obtained = 0;
    const renewer = new WildcardCertificates({
      db: t.db,
      box: SecretBox.fromPassphrase('marina test secret key'),
      logger: pino({ level: 'silent' }),
      clock: t.clock,
      edge: {
        baseDomain: domain,
        acme: t.config.edge?.acme ?? { ca: undefined, email: undefined, caRootsFile: undefined },
      },
      dns01: { provider: 'rfc2136', server: { host: knot.host, port: knot.port }, zone: BASE, key },
      obtained: () => {
        obtained += 1;
      },
      retryMs: [300],
    });
    try {
      await knot.rotateKey();
      renewer.start();
      await vi.waitFor(async () => expect((await renewer.status()).failures).toBeGreaterThanOrEqual(1), {
        timeout: 20_000,
        interval: 50,
      });
      expect((await renewer.status()).lastError).toMatch(/BADSIG/);
      expect(obtained).toBe(0);

      // The server knows Marina's key again: the next retry succeeds without being asked.
      await knot.rotateKey(key.secret);
      await vi.waitFor(async () => expect((await renewer.status()).notAfter).toBeInstanceOf(Date), {
        timeout: 30_000,
        interval: 100,
      });
      const status = await renewer.status();
      expect(status).toMatchObject({ lastError: null, failures: 0 });
      expect(obtained).toBe(1);
      expect(await knot.txt(`_acme-challenge.${domain}`)).toEqual([]);
    } finally {
      await renewer.stop();
    }
  }, 60_000);
});
