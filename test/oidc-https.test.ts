import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from './helpers/app.js';
import { makeOrganizationWithAdmin } from './helpers/factories.js';
import { startOidcProvider, type TestOidcProvider } from './helpers/oidc-provider.js';
import { makeTestCa } from './helpers/test-ca.js';
import { addProvider, meOf, signInThrough } from './oidc-support.js';

/**
 * The production path: Marina made without the test-only allowance for plain-http issuers, a
 * provider over https with a certificate from a test CA, trusted by this process's fetch the way an
 * operator's system trusts a real CA.
 */
describe('external sign-in over https, without the insecure allowance', () => {
  let t: TestApp;
  let admin: Browser;
  let provider: TestOidcProvider;
  let dir: string;
  let previous: string[] | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marina-oidc-https-'));
    const ca = await makeTestCa(dir, 'ca', { commonName: 'Marina OIDC test CA' });
    const leaf = await ca.issue('provider', { names: ['127.0.0.1'] });
    previous = getCACertificates('default');
    // openid-client uses fetch, whose TLS takes the process's default CAs: the test CA joins them.
    setDefaultCACertificates([...previous, ca.certificatePem]);
    t = await createTestApp();
    admin = await adminBrowser(t);
    provider = await startOidcProvider({
      redirectUri: t.services.oidcFlows.redirectUri,
      tls: { certificatePem: leaf.certificatePem, keyPem: leaf.keyPem },
    });
    await makeOrganizationWithAdmin(t, admin, { slug: 'acme', email: 'ada@acme.test' });
    const allowed = await as(t, admin)('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
    expect(allowed.statusCode, allowed.body).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await provider?.close();
    await t?.close();
    if (previous) setDefaultCACertificates(previous);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a plain-http issuer', async () => {
    const refused = await as(t, admin)('POST', '/api/v1/oidc-providers', {
      slug: 'plain',
      name: 'Plain',
      issuer: provider.issuer.replace('https://', 'http://'),
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
    });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(refused.json<{ error: { details: { field: string } } }>().error.details.field).toBe('issuer');
  });

  it('completes the sign-in through an https provider', async () => {
    expect(provider.issuer.startsWith('https://')).toBe(true);
    await addProvider(t, admin, provider);
    provider.signInAs({ sub: 'ada-https', email: 'ada@acme.test', email_verified: true });
    const signedIn = await signInThrough(t, provider);
    expect(signedIn.headers.location).toBe('/');
    expect(await meOf(t, signedIn)).toBe('ada@acme.test');
  });
});
