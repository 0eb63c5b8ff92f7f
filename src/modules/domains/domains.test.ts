import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, type Browser, type TestApp } from '../../../test/helpers/app.js';
import { withClient } from '../../adapters/postgres/admin.js';
import { systemContext } from '../../platform/context.js';
import { SecretBox } from '../../platform/secrets/secret-box.js';
import type { DataPlane } from '../backups/data-plane.js';
import { giveOwnIdentity } from '../backups/jobs/copy-identity.js';
import type { BackupJobDeps } from '../backups/jobs/shared.js';
import { DomainRechecks } from './checks.js';
import type { TestDnsServer } from './domains-test-support.js';
import {
  BASE,
  type Domain,
  DomainsWorld,
  HTTPS_PORT,
  type InstanceRef,
  PROXY_V4,
  PROXY_V6,
} from './world-test-support.js';

/**
 * Custom domains through the API, against real PostgreSQL and a real DNS server on loopback
 * (pebble-challtestsrv): validation, the three methods, what DNS answered, primary names and
 * web.base.url, no takeover, copies, background re-checks.
 */
const NAMESPACE = 'mtdomains';
/** Shared world: see world-test-support.ts. */
let w: DomainsWorld;
let t: TestApp;
let dns: TestDnsServer;
let acme: Browser;
let globex: Browser;
let staging: InstanceRef;
let production: InstanceRef;
let globexInstance: InstanceRef;

beforeAll(async () => {
  w = await DomainsWorld.start(NAMESPACE);
  ({ t, dns, acme, globex, staging, production, globexInstance } = w);
}, 120_000);
afterAll(async () => {
  await w?.close();
});

const add = (who: Browser, instanceId: string, body: Record<string, unknown>) => w.add(who, instanceId, body);
const verify = (who: Browser, id: string) => w.verify(who, id);
const verifiedDomain = (who: Browser, instanceId: string, hostname: string) =>
  w.verifiedDomain(who, instanceId, hostname);

const domainRows = async () => (await t.db.selectFrom('domains').select('hostname').execute()).map((r) => r.hostname);

describe('adding a domain', () => {
  it('refuses every bad name with MARINA_E_DOMAIN_INVALID and its reason, and changes nothing', async () => {
    const before = await domainRows();
    for (const [hostname, reason] of [
      ['*.acme-corp.test', 'wildcard'],
      ['198.51.100.4', 'IP address'],
      ['[2001:db8::1]', 'IP address'],
      ['intranet', 'single word'],
      ['printer.local', 'private or reserved'],
      [`staging.${BASE}`, 'platform'],
      [`${'x'.repeat(64)}.acme-corp.test`, '63 characters'],
      ['a..acme-corp.test', 'empty label'],
    ]) {
      const response = await as(t, acme)('POST', `/api/v1/instances/${staging.id}/domains`, { hostname });
      expect(response.statusCode, hostname).toBe(400);
      expect(response.json().error.code).toBe('MARINA_E_DOMAIN_INVALID');
      expect(response.json().error.details.reason).toContain(reason);
    }
    const badMethod = await as(t, acme)('POST', `/api/v1/instances/${staging.id}/domains`, {
      hostname: 'ok.acme-corp.test',
      method: 'http',
    });
    expect(badMethod.statusCode).toBe(400);
    expect(await domainRows()).toEqual(before);
  });

  it('cname: answers the record to create, stays pending with what DNS answered, verifies once it points here', async () => {
    const name = 'shop.acme-corp.test';
    const added = await add(acme, staging.id, { hostname: 'Shop.ACME-corp.test.' });
    expect(added).toMatchObject({ hostname: name, method: 'cname', status: 'pending', isPrimary: false });
    expect(added.records).toEqual([{ type: 'CNAME', name, value: staging.hostname }]);
    // The first check ran at once: nothing there yet, next try in a minute.
    expect(added.found?.records).toEqual([]);
    expect(added.lastError).toContain('No CNAME record');
    expect(Date.parse(added.nextCheckAt ?? '') - Date.parse(added.found?.checkedAt ?? '')).toBe(60_000);

    await dns.setCname(name, `elsewhere.${BASE}`);
    const wrong = await verify(acme, added.id);
    expect(wrong.status).toBe('pending');
    expect(wrong.found?.records).toEqual([{ type: 'CNAME', name, value: `elsewhere.${BASE}` }]);
    expect(wrong.lastError).toContain(`points to elsewhere.${BASE}, not to ${staging.hostname}`);

    await dns.setCname(name, staging.hostname);
    const verified = await verify(acme, added.id);
    expect(verified).toMatchObject({ status: 'verified', lastError: null, nextCheckAt: null });
    expect(verified.found?.records).toEqual([{ type: 'CNAME', name, value: staging.hostname }]);
    expect(verified.verifiedAt).not.toBeNull();
    const events = (await as(t, acme)('GET', '/api/v1/audit?limit=50')).json().events as { action: string }[];
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['domain.add', 'domain.verify']));

    const again = await as(t, acme)('POST', `/api/v1/instances/${production.id}/domains`, { hostname: name });
    expect(again.statusCode).toBe(409);
  });

  it('txt: verifies by the token at _marina-challenge.<name>', async () => {
    const added = await add(acme, staging.id, { hostname: 'erp.acme-corp.test', method: 'txt' });
    const [record] = added.records;
    expect(record).toMatchObject({ type: 'TXT', name: '_marina-challenge.erp.acme-corp.test' });
    expect(record?.value).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(added.status).toBe('pending');
    await dns.setTxt(record?.name ?? '', 'someone-elses-token');
    const wrong = await verify(acme, added.id);
    expect(wrong.status).toBe('pending');
    expect(wrong.found?.records).toEqual([{ type: 'TXT', name: record?.name, value: 'someone-elses-token' }]);
    await dns.clearTxt(record?.name ?? '');
    await dns.setTxt(record?.name ?? '', record?.value ?? '');
    expect((await verify(acme, added.id)).status).toBe('verified');
  });

  it('apex: default for a two-label name, needs A/AAAA to the proxy and the TXT token', async () => {
    const name = 'acme-corp.test';
    const added = await add(acme, production.id, { hostname: name });
    expect(added.method).toBe('apex');
    const txt = added.records.find((r) => r.type === 'TXT');
    expect(added.records).toEqual([
      { type: 'A', name, value: PROXY_V4 },
      { type: 'AAAA', name, value: PROXY_V6 },
      { type: 'TXT', name: `_marina-challenge.${name}`, value: txt?.value },
    ]);
    await dns.setA(name, ['192.0.2.99']);
    await dns.setTxt(`_marina-challenge.${name}`, txt?.value ?? '');
    const stray = await verify(acme, added.id);
    expect(stray.status).toBe('pending');
    expect(stray.found?.records).toEqual(
      expect.arrayContaining([
        { type: 'A', name, value: '192.0.2.99' },
        { type: 'TXT', name: `_marina-challenge.${name}`, value: txt?.value },
      ]),
    );
    expect(stray.lastError).toContain('192.0.2.99, which is not the proxy');
    await dns.clearA(name);
    await dns.setA(name, [PROXY_V4]);
    const verified = await verify(acme, added.id);
    expect(verified.status).toBe('verified');
  });

  it('shows the names: the platform name with its URL, the proxy addresses and the domains', async () => {
    await add(acme, production.id, { hostname: 'list-a.acme-corp.test' });
    await add(acme, production.id, { hostname: 'list-b.acme-corp.test' });
    const response = await as(t, acme)('GET', `/api/v1/instances/${production.id}/domains`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.edge).toBe(true);
    // Its certificate is what the edge serves (none here: no proxy runs in this test).
    expect(body.platform).toMatchObject({
      hostname: production.hostname,
      url: `https://${production.hostname}:${HTTPS_PORT}`,
    });
    expect(body.proxyAddresses).toEqual([PROXY_V4, PROXY_V6]);
    const names = body.domains.map((d: Domain) => d.hostname);
    expect(names).toEqual(expect.arrayContaining(['list-a.acme-corp.test', 'list-b.acme-corp.test']));
    const staged = (await as(t, acme)('GET', `/api/v1/instances/${staging.id}/domains`)).json().domains as Domain[];
    expect(staged.map((d) => d.hostname)).not.toContain('list-a.acme-corp.test');
  });

  it('shows an internationalized name in its Unicode form', async () => {
    const added = await add(acme, staging.id, { hostname: 'Bücher.acme-corp.test' });
    expect(added.hostname).toBe('xn--bcher-kva.acme-corp.test');
    expect(added.displayName).toBe('bücher.acme-corp.test');
    expect(added.records[0]?.name).toBe('xn--bcher-kva.acme-corp.test');
  });
});

describe('primary name', () => {
  it('needs a verified domain; sets primary_hostname and web.base.url (as the tenant), falls back when removed', async () => {
    const shop = await verifiedDomain(acme, staging.id, 'p1.acme-corp.test');
    const erp = await verifiedDomain(acme, staging.id, 'p2.acme-corp.test');
    const pending = await add(acme, staging.id, { hostname: 'later.acme-corp.test' });
    const refused = await as(t, acme)('POST', `/api/v1/domains/${pending.id}/primary`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('MARINA_E_DOMAIN_NOT_VERIFIED');

    const made = await as(t, acme)('POST', `/api/v1/domains/${shop?.id}/primary`);
    expect(made.statusCode, made.body).toBe(200);
    expect(made.json().domain.isPrimary).toBe(true);
    expect((await t.services.instances.row(staging.id)).primary_hostname).toBe('p1.acme-corp.test');
    expect(await w.param('web.base.url')).toBe(`https://p1.acme-corp.test:${HTTPS_PORT}`);
    expect(await w.param('web.base.url.freeze')).toBe('True');
    // Odoo's mail domain follows the primary name too (src/modules/mail).
    expect(await w.param('mail.catchall.domain')).toBe('p1.acme-corp.test');

    // One primary per instance.
    expect((await as(t, acme)('POST', `/api/v1/domains/${erp?.id}/primary`)).statusCode).toBe(200);
    const after = (await as(t, acme)('GET', `/api/v1/instances/${staging.id}/domains`)).json().domains as Domain[];
    expect(after.filter((d) => d.isPrimary).map((d) => d.hostname)).toEqual(['p2.acme-corp.test']);
    expect(await w.param('web.base.url')).toBe(`https://p2.acme-corp.test:${HTTPS_PORT}`);

    expect((await as(t, acme)('DELETE', `/api/v1/domains/${erp?.id}`)).statusCode).toBe(204);
    expect((await t.services.instances.row(staging.id)).primary_hostname).toBeNull();
    expect(await w.param('web.base.url')).toBe(`https://${staging.hostname}:${HTTPS_PORT}`);
    expect(await w.param('mail.catchall.domain')).toBe(staging.hostname);
    // Back to the platform name: the instance's URL everywhere is the platform one again.
    const instance = (await as(t, acme)('GET', `/api/v1/instances/${staging.id}`)).json().instance;
    expect(instance.url).toBe(`https://${staging.hostname}:${HTTPS_PORT}`);
  });
});

describe('no takeover', () => {
  it('lets another organization add a verified name (pending), and moves it only when that one verifies', async () => {
    const name = 'take.acme-corp.test';
    // ACME's name is verified (CNAME to its staging) and the primary name of its staging instance.
    const acmeShop = await add(acme, staging.id, { hostname: name, method: 'cname' });
    await dns.setCname(name, staging.hostname);
    expect((await verify(acme, acmeShop.id)).status).toBe('verified');
    expect((await as(t, acme)('POST', `/api/v1/domains/${acmeShop.id}/primary`)).statusCode).toBe(200);

    const claim = await add(globex, globexInstance.id, { hostname: name });
    expect(claim.status).toBe('pending');
    expect(claim.records).toEqual([{ type: 'CNAME', name, value: globexInstance.hostname }]);
    expect(claim.found?.records).toEqual([{ type: 'CNAME', name, value: staging.hostname }]);
    expect((await verify(globex, claim.id)).status).toBe('pending');
    const stillAcme = await t.db
      .selectFrom('domains')
      .selectAll()
      .where('id', '=', acmeShop.id)
      .executeTakeFirstOrThrow();
    expect(stillAcme).toMatchObject({ status: 'verified', is_primary: true });

    // The name now points at Globex's instance: Globex proved it, ACME's claim is stale.
    await dns.setCname(name, globexInstance.hostname);
    expect((await verify(globex, claim.id)).status).toBe('verified');
    const lost = await t.db.selectFrom('domains').selectAll().where('id', '=', acmeShop.id).executeTakeFirstOrThrow();
    expect(lost).toMatchObject({ status: 'failed', is_primary: false });
    expect(lost.last_error).toContain('Verified by another organization');
    expect((await t.services.instances.row(staging.id)).primary_hostname).toBeNull();
  });
});

describe('copies', () => {
  it("a clone into staging takes the staging's own primary URL, never production's, when both have names", async () => {
    const mine = await verifiedDomain(acme, staging.id, 'test.acme-corp.test');
    expect((await as(t, acme)('POST', `/api/v1/domains/${mine.id}/primary`)).statusCode).toBe(200);
    const prodDomain = await verifiedDomain(acme, production.id, 'www.acme-corp.test');
    expect((await as(t, acme)('POST', `/api/v1/domains/${prodDomain?.id}/primary`)).statusCode).toBe(200);
    expect(await t.services.instances.url(await t.services.instances.row(production.id))).toBe(
      `https://www.acme-corp.test:${HTTPS_PORT}`,
    );

    // What a clone of production leaves in the staging database before Marina gives it its own identity.
    const target = await t.services.instances.row(staging.id);
    const asTenant = await t.services.databaseServers.forInstance(target);
    await withClient(asTenant, target.db_name, (c) =>
      c.query(
        `INSERT INTO ir_config_parameter (key, value) VALUES ('web.base.url', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [`https://www.acme-corp.test:${HTTPS_PORT}`],
      ),
    );
    // The step every restore and clone runs on the copy (src/modules/backups/jobs/copy-identity.ts).
    const deps = {
      clock: t.clock,
      instances: t.services.instances,
      box: SecretBox.fromPassphrase('marina test secret key'),
    };
    const server = await t.services.databaseServers.get(target.database_server_id ?? '');
    await giveOwnIdentity(
      deps as unknown as BackupJobDeps,
      { admin: await t.services.databaseServers.connection(server) } as DataPlane,
      target,
      target.db_name,
    );
    expect(await w.param('web.base.url')).toBe(`https://test.acme-corp.test:${HTTPS_PORT}`);
  });
});

// Last: it moves the test clock by a week.
describe('background re-checks', () => {
  it('the loop checks what is due on its own', async () => {
    const added = await add(acme, staging.id, { hostname: 'loop.acme-corp.test', method: 'txt' });
    await dns.setTxt(added.records[0]?.name ?? '', added.records[0]?.value ?? '');
    const loop = new DomainRechecks(t.services.domains.checks, 50);
    loop.start();
    try {
      // Not due yet: the loop leaves it alone.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await t.services.domains.row(systemContext('test').actor, added.id)).status).toBe('pending');
      t.clock.advanceMinutes(1);
      await vi.waitFor(
        async () =>
          expect((await t.services.domains.row(systemContext('test').actor, added.id)).status).toBe('verified'),
        { timeout: 10_000, interval: 50 },
      );
    } finally {
      await loop.stop();
    }
  });

  it('re-checks a pending name after 1, 2, 4 … minutes (at most an hour), gives up after 7 days, can be verified by hand', async () => {
    const added = await add(acme, staging.id, { hostname: 'slow.acme-corp.test', method: 'txt' });
    const createdAt = t.clock.now().getTime();
    const delays: number[] = [];
    let row = await t.db.selectFrom('domains').selectAll().where('id', '=', added.id).executeTakeFirstOrThrow();
    for (let i = 0; i < 8; i++) {
      const due = row.next_check_at ?? new Date();
      t.clock.set(new Date(due.getTime() - 1000));
      await t.services.domains.checks.runDue();
      const early = await t.db.selectFrom('domains').selectAll().where('id', '=', added.id).executeTakeFirstOrThrow();
      expect(early.check_count, 'not checked before it is due').toBe(row.check_count);
      t.clock.set(due);
      await t.services.domains.checks.runDue();
      row = await t.db.selectFrom('domains').selectAll().where('id', '=', added.id).executeTakeFirstOrThrow();
      delays.push(((row.next_check_at?.getTime() ?? 0) - due.getTime()) / 60_000);
    }
    expect(delays).toEqual([2, 4, 8, 16, 32, 60, 60, 60]);
    expect(row.status).toBe('pending');

    t.clock.set(new Date(createdAt + 7 * 24 * 60 * 60_000));
    await t.services.domains.checks.runDue();
    // Sessions do not survive a week of test clock: from here on, as the system.
    const failed = (await t.services.domains.list(systemContext('test').actor, staging.id)).domains.find(
      (d) => d.id === added.id,
    );
    expect(failed).toMatchObject({ status: 'failed', nextCheckAt: null });
    expect(failed?.lastError).toContain('Not verified within 7 days');
    await t.services.domains.checks.runDue();
    expect(
      (await t.services.domains.list(systemContext('test').actor, staging.id)).domains.find((d) => d.id === added.id)
        ?.status,
    ).toBe('failed');

    const record = added.records[0];
    await dns.setTxt(record?.name ?? '', record?.value ?? '');
    expect((await t.services.domains.verify(systemContext('test'), added.id)).status).toBe('verified');
  });
});
