import { describe, expect, it } from 'vitest';
import { MarinaError } from '../../platform/errors.js';
import { checkCertificate } from './certificates.js';
import { makeCertificates } from './domains-test-support.js';

const NAME = 'shop.acme-corp.test';
const certs = makeCertificates(NAME);
const now = new Date();
const DAY = 24 * 60 * 60_000;

function reason(input: Partial<Parameters<typeof checkCertificate>[0]>): string {
  try {
    checkCertificate({ certificate: certs.leaf, key: certs.key, hostname: NAME, now, ...input });
  } catch (error) {
    expect(error).toBeInstanceOf(MarinaError);
    expect((error as MarinaError).code).toBe('MARINA_E_CERTIFICATE_INVALID');
    return (error as MarinaError).message;
  }
  throw new Error('the certificate was accepted');
}

describe('uploaded certificates', () => {
  it('accepts a certificate for the name with its key, alone or with its chain, and describes it', () => {
    const own = checkCertificate({ certificate: certs.chain, key: certs.key, hostname: NAME, now });
    expect(own.subject).toBe(`CN=${NAME}`);
    expect(own.issuer).toBe('CN=Marina Test CA');
    expect(Date.parse(own.notAfter)).toBeGreaterThan(now.getTime() + 29 * DAY);
    expect(checkCertificate({ certificate: certs.leaf, key: certs.key, hostname: NAME, now }).subject).toBe(
      `CN=${NAME}`,
    );
  });

  it('refuses each wrong upload with the reason', () => {
    expect(reason({ key: certs.otherKey })).toContain('does not belong to the certificate');
    expect(reason({ hostname: 'other.acme-corp.test' })).toContain('does not cover other.acme-corp.test');
    expect(reason({ now: new Date(now.getTime() + 31 * DAY) })).toContain('expired on');
    expect(reason({ now: new Date(now.getTime() - 2 * DAY) })).toContain('not valid before');
    expect(reason({ certificate: 'hello' })).toContain('no PEM certificate');
    expect(reason({ certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' })).toContain(
      'not a valid X.509',
    );
    expect(reason({ key: 'not a key' })).toContain('not a valid PEM private key');
    expect(reason({ key: '-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n-----END ENCRYPTED PRIVATE KEY-----' })).toContain(
      'encrypted',
    );
    expect(reason({ certificate: `${certs.ca}${certs.leaf}` })).toContain('does not belong');
    expect(reason({ certificate: `${certs.leaf}${certs.leaf}` })).toContain('not signed by certificate 2');
    expect(reason({ key: '' })).toContain('missing');
  });
});
