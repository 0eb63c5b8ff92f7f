import bcrypt from 'bcryptjs';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, type Browser, memberBrowser, type TestApp } from '../../../test/helpers/app.js';
import { MarinaClient } from '../../cli/api/client.js';
import { registerDomainCommands } from '../../cli/domains.js';
import { SecretBox } from '../../platform/secrets/secret-box.js';
import { makeCertificates } from './domains-test-support.js';
import { protectionPasswordAt } from './protection.js';
import { DomainsWorld, type InstanceRef } from './world-test-support.js';

/**
 * Who may touch a domain (organization scoping, roles), uploaded certificates and access
 * protection, through the API against real PostgreSQL and a real DNS server on loopback.
 */
const NAMESPACE = 'mtdomainsaccess';
/** Shared world: see world-test-support.ts. */
let w: DomainsWorld;
let t: TestApp;
let acme: Browser;
let globex: Browser;
let staging: InstanceRef;
let production: InstanceRef;

beforeAll(async () => {
  w = await DomainsWorld.start(NAMESPACE);
  ({ t, acme, globex, staging, production } = w);
}, 120_000);
afterAll(async () => {
  await w?.close();
});

const add = (who: Browser, instanceId: string, body: Record<string, unknown>) => w.add(who, instanceId, body);

describe('organizations and roles', () => {
  it("answers 404 for another organization's domains and instances, 403 for a member who is not admin", async () => {
    const acmeDomain = await add(acme, staging.id, { hostname: 'iso.acme-corp.test' });
    const other = as(t, globex);
    for (const [method, url, body] of [
      ['GET', `/api/v1/instances/${staging.id}/domains`],
      ['POST', `/api/v1/instances/${staging.id}/domains`, { hostname: 'x.globex.test' }],
      ['POST', `/api/v1/domains/${acmeDomain.id}/verify`],
      ['POST', `/api/v1/domains/${acmeDomain.id}/primary`],
      ['DELETE', `/api/v1/domains/${acmeDomain.id}`],
      ['PUT', `/api/v1/domains/${acmeDomain.id}/certificate`, { certificate: 'x', key: 'y' }],
      ['DELETE', `/api/v1/domains/${acmeDomain.id}/certificate`],
      ['GET', `/api/v1/instances/${staging.id}/protection`],
      ['PUT', `/api/v1/instances/${staging.id}/protection`, { kind: 'basic' }],
    ] as const) {
      const response = await other(method, url, body);
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
    const member = await memberBrowser(t, acme, 'acme', 'member@acme.test', 'member');
    expect((await as(t, member)('GET', `/api/v1/instances/${staging.id}/domains`)).statusCode).toBe(200);
    const refused = await as(t, member)('POST', `/api/v1/instances/${staging.id}/domains`, {
      hostname: 'm.acme-corp.test',
    });
    expect(refused.statusCode).toBe(403);
    expect((await as(t, member)('DELETE', `/api/v1/domains/${acmeDomain.id}`)).statusCode).toBe(403);
    expect(
      await t.db
        .selectFrom('domains')
        .select('id')
        .where('id', '=', acmeDomain.id ?? '')
        .executeTakeFirst(),
    ).toBeTruthy();
  });
});

describe('uploaded certificates', () => {
  it('checks the certificate, seals its key, shows it and removes it', async () => {
    const apex = await add(acme, production.id, { hostname: 'cert.acme-corp.test' });
    const certs = makeCertificates('cert.acme-corp.test');
    // openssl's certificates start now; the test clock started with the file.
    t.clock.set(new Date());
    const url = `/api/v1/domains/${apex.id}/certificate`;
    const mismatch = await as(t, acme)('PUT', url, { certificate: certs.chain, key: certs.otherKey });
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().error.code).toBe('MARINA_E_CERTIFICATE_INVALID');
    expect(mismatch.json().error.message).toContain('does not belong');
    const wrongName = makeCertificates('other.test');
    const uncovered = await as(t, acme)('PUT', url, { certificate: wrongName.leaf, key: wrongName.key });
    expect(uncovered.json().error.message).toContain('does not cover cert.acme-corp.test');
    let row = await t.db
      .selectFrom('domains')
      .selectAll()
      .where('id', '=', apex.id ?? '')
      .executeTakeFirstOrThrow();
    expect(row.certificate_pem).toBeNull();

    const uploaded = await as(t, acme)('PUT', url, { certificate: certs.chain, key: certs.key });
    expect(uploaded.statusCode, uploaded.body).toBe(200);
    expect(uploaded.json().domain.ownCertificate).toMatchObject({
      subject: 'CN=cert.acme-corp.test',
      issuer: 'CN=Marina Test CA',
    });
    row = await t.db
      .selectFrom('domains')
      .selectAll()
      .where('id', '=', apex.id ?? '')
      .executeTakeFirstOrThrow();
    expect(row.certificate_key).not.toContain('PRIVATE KEY');
    expect(t.services.domains.openCertificateKey(row)).toBe(certs.key.trim());

    const removed = await as(t, acme)('DELETE', url);
    expect(removed.json().domain.ownCertificate).toBeNull();
    row = await t.db
      .selectFrom('domains')
      .selectAll()
      .where('id', '=', apex.id ?? '')
      .executeTakeFirstOrThrow();
    expect([row.certificate_pem, row.certificate_key]).toEqual([null, null]);
  });
});

describe('protection', () => {
  it('basic: a generated password shown once, sealed, with a bcrypt hash; allow: validated addresses; production refused', async () => {
    const url = `/api/v1/instances/${staging.id}/protection`;
    expect((await as(t, acme)('GET', url)).json().protection).toEqual({ kind: 'none' });
    const basic = await as(t, acme)('PUT', url, { kind: 'basic' });
    expect(basic.statusCode, basic.body).toBe(200);
    const { username, password } = basic.json().protection;
    expect(username).toBe('staging');
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect((await as(t, acme)('GET', url)).json().protection).toEqual({ kind: 'basic', username: 'staging' });
    const stored = (await t.services.instances.row(staging.id)).protection;
    if (stored?.kind !== 'basic') throw new Error('not stored as basic');
    expect(stored.password).not.toContain(password);
    expect(
      SecretBox.fromPassphrase('marina test secret key').open(stored.password, protectionPasswordAt(staging.id)),
    ).toBe(password);
    expect(await bcrypt.compare(password, stored.hash ?? '')).toBe(true);

    const bad = await as(t, acme)('PUT', url, { kind: 'allow', addresses: ['10.0.0.0/8', 'everyone'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('"everyone"');
    expect((await t.services.instances.row(staging.id)).protection?.kind).toBe('basic');
    const allow = await as(t, acme)('PUT', url, { kind: 'allow', addresses: ['10.0.0.0/8', ' 2001:DB8::1 '] });
    expect(allow.json().protection).toEqual({ kind: 'allow', addresses: ['10.0.0.0/8', '2001:db8::1'] });

    const prod = await as(t, acme)('PUT', `/api/v1/instances/${production.id}/protection`, { kind: 'basic' });
    expect(prod.statusCode).toBe(409);
    expect(prod.json().error.code).toBe('MARINA_E_PROTECTION_REFUSED');
    expect((await t.services.instances.row(production.id)).protection).toBeNull();

    expect((await as(t, acme)('PUT', url, { kind: 'none' })).json().protection).toEqual({ kind: 'none' });
    expect((await t.services.instances.row(staging.id)).protection).toBeNull();
  });
});

describe('marina domains', () => {
  it('adds, lists, verifies and removes a domain through the API, printing the records to create and what was found', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const client = new MarinaClient({ url: `http://127.0.0.1:${port}`, cookie: acme.cookie, csrf: acme.csrf });
    const program = new Command('marina').exitOverride();
    registerDomainCommands(program, async () => client);
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.join(' ')));
    const run = async (...args: string[]) => {
      printed.length = 0;
      await program.parseAsync(['node', 'marina', 'domains', ...args]);
      return printed.join('\n');
    };
    try {
      const added = await run('add', staging.id, 'CLI.acme-corp.test', '--method', 'txt');
      expect(added).toContain('cli.acme-corp.test (cli.acme-corp.test): pending');
      expect(added).toContain('Records to create:');
      expect(added).toContain('_marina-challenge.cli.acme-corp.test');
      expect(added).toContain('(nothing)');
      const row = await t.db
        .selectFrom('domains')
        .selectAll()
        .where('hostname', '=', 'cli.acme-corp.test')
        .executeTakeFirstOrThrow();
      expect(await run('ls', staging.id)).toMatch(/cli\.acme-corp\.test\s+txt\s+pending/);
      await w.dns.setTxt('_marina-challenge.cli.acme-corp.test', 'not-the-token');
      const found = await run('verify', row.id);
      expect(found).toContain('pending');
      expect(found).toContain('not-the-token');
      await run('rm', row.id);
      expect(await t.db.selectFrom('domains').select('id').where('id', '=', row.id).executeTakeFirst()).toBeUndefined();
      await expect(run('verify', 'not-an-id')).rejects.toThrow(/not a domain id/);
    } finally {
      log.mockRestore();
    }
  });
});
