import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { ConfigError } from './platform/errors.js';

/** MARINA_EDGE_WILDCARD_DNS01 and its details (src/config-edge.ts). */

const SECRET = Buffer.alloc(32, 7).toString('base64');
const edge = { MARINA_DATA_DIR: '/tmp/marina-unused', MARINA_BASE_DOMAIN: 'apps.example.com' };
const dns01 = {
  ...edge,
  MARINA_EDGE_WILDCARD_DNS01: 'rfc2136',
  MARINA_EDGE_DNS01_SERVER: '192.0.2.53',
  MARINA_EDGE_DNS01_TSIG: `marina-acme:hmac-sha256:${SECRET}`,
};
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return '';
};

describe('the DNS-01 wildcard settings', () => {
  it('are read: the server (port 53 by default), the zone (the base domain by default), the key', () => {
    expect(loadConfig(dns01).edge?.wildcardDns01).toEqual({
      provider: 'rfc2136',
      server: { host: '192.0.2.53', port: 53 },
      zone: 'apps.example.com',
      key: { name: 'marina-acme.', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 7) },
    });
    const parent = loadConfig({
      ...dns01,
      MARINA_EDGE_DNS01_SERVER: '[2001:db8::53]:5353',
      MARINA_EDGE_DNS01_ZONE: 'Example.com.',
      MARINA_EDGE_DNS01_TSIG: `Key.Example:hmac-sha512:${SECRET}`,
    }).edge?.wildcardDns01;
    expect(parent).toMatchObject({
      server: { host: '2001:db8::53', port: 5353 },
      zone: 'example.com',
      key: { name: 'key.example.', algorithm: 'hmac-sha512' },
    });
    expect(loadConfig(edge).edge?.wildcardDns01).toBeUndefined();
  });

  it('cannot be combined with an operator-provided wildcard, nor with the internal CA', () => {
    expect(
      problemsOf({ ...dns01, MARINA_EDGE_WILDCARD_CERT: '/etc/w.pem', MARINA_EDGE_WILDCARD_KEY: '/etc/w.key' }),
    ).toMatch(/MARINA_EDGE_WILDCARD_DNS01 and MARINA_EDGE_WILDCARD_CERT\/KEY: choose one/);
    expect(problemsOf({ ...dns01, MARINA_ACME_CA: 'internal' })).toMatch(
      /MARINA_EDGE_WILDCARD_DNS01: needs an ACME CA/,
    );
  });

  it('need a server and a key; a zone must contain the base domain; details alone are a mistake', () => {
    const { MARINA_EDGE_DNS01_SERVER: _s, MARINA_EDGE_DNS01_TSIG: _k, ...bare } = dns01;
    expect(problemsOf(bare)).toMatch(/rfc2136 needs MARINA_EDGE_DNS01_SERVER and MARINA_EDGE_DNS01_TSIG/);
    expect(problemsOf({ ...dns01, MARINA_EDGE_DNS01_ZONE: 'other.example.org' })).toMatch(
      /MARINA_EDGE_DNS01_ZONE: other.example.org does not contain MARINA_BASE_DOMAIN/,
    );
    expect(problemsOf({ ...dns01, MARINA_EDGE_DNS01_SERVER: 'ns1.example.com' })).toMatch(
      /MARINA_EDGE_DNS01_SERVER: expected .*IP address/,
    );
    expect(problemsOf({ ...dns01, MARINA_EDGE_WILDCARD_DNS01: 'route53' })).toMatch(/MARINA_EDGE_WILDCARD_DNS01/);
    expect(problemsOf({ ...edge, MARINA_EDGE_DNS01_SERVER: '192.0.2.53' })).toMatch(
      /MARINA_EDGE_DNS01_SERVER: set MARINA_EDGE_WILDCARD_DNS01=rfc2136 too/,
    );
    expect(problemsOf({ MARINA_DATA_DIR: '/tmp/x', MARINA_EDGE_WILDCARD_DNS01: 'rfc2136' })).toMatch(
      /MARINA_EDGE_WILDCARD_DNS01: set MARINA_BASE_DOMAIN too/,
    );
  });

  it('refuse a malformed key without showing its secret', () => {
    for (const key of [
      `marina-acme:hmac-md5:${SECRET}`,
      'marina-acme:hmac-sha256:c2hvcnQ=',
      `marina-acme:hmac-sha256:${SECRET}!`,
      `:hmac-sha256:${SECRET}`,
    ]) {
      const problems = problemsOf({ ...dns01, MARINA_EDGE_DNS01_TSIG: key });
      expect(problems).toMatch(/MARINA_EDGE_DNS01_TSIG: expected .*the value is not shown/);
      expect(problems).not.toContain(SECRET.slice(0, 12));
      expect(problems).not.toContain('c2hvcnQ');
    }
  });
});
