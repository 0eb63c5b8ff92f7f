import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { ConfigError } from './platform/errors.js';

const base = { MARINA_DATA_DIR: '/tmp/marina-unused' };
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return '';
};

describe('the edge settings', () => {
  it('keep instance ports on loopback once the proxy is the way in, unless told otherwise', () => {
    expect(loadConfig(base).instances.bindAddress).toBe('0.0.0.0');
    expect(loadConfig({ ...base, MARINA_BASE_DOMAIN: 'apps.example.com' }).instances.bindAddress).toBe('127.0.0.1');
    expect(
      loadConfig({ ...base, MARINA_BASE_DOMAIN: 'apps.example.com', MARINA_INSTANCE_BIND: '10.0.0.5' }).instances
        .bindAddress,
    ).toBe('10.0.0.5');
  });

  it('are off without MARINA_BASE_DOMAIN', () => {
    expect(loadConfig(base).edge).toBeUndefined();
  });

  it('have defaults once a base domain is set', () => {
    expect(loadConfig({ ...base, MARINA_BASE_DOMAIN: 'Apps.Example.com.' }).edge).toEqual({
      baseDomain: 'apps.example.com',
      namePattern: '{instance}-{project}-{org}',
      caddyAdminUrl: 'http://127.0.0.1:2019',
      managedProxy: { image: 'caddy:2', adminPort: 2019 },
      httpPort: 80,
      httpsPort: 443,
      dnsPort: 0,
      accessLogPort: 0,
      acme: { ca: undefined, email: undefined, caRootsFile: undefined },
      addresses: [],
      dnsResolver: undefined,
      wildcard: undefined,
      maxUploadMb: 1024,
    });
  });

  it('reads every variable', () => {
    const edge = loadConfig({
      ...base,
      MARINA_BASE_DOMAIN: 'apps.example.com',
      MARINA_EDGE_NAME_PATTERN: '{org}-{instance}',
      MARINA_CADDY_ADMIN_URL: 'http://127.0.0.1:2999',
      MARINA_EDGE_HTTP_PORT: '8080',
      MARINA_EDGE_HTTPS_PORT: '8443',
      MARINA_EDGE_DNS_PORT: '5399',
      MARINA_EDGE_ACCESS_LOG_PORT: '5400',
      MARINA_ACME_CA: 'https://acme.test/dir',
      MARINA_ACME_EMAIL: 'ops@example.com',
      MARINA_ACME_CA_ROOTS: '/etc/pebble.pem',
      MARINA_EDGE_ADDRESSES: '203.0.113.5, 2001:db8::5',
      MARINA_DNS_RESOLVER: '[::1]:5353',
      MARINA_EDGE_WILDCARD_CERT: '/etc/w.pem',
      MARINA_EDGE_WILDCARD_KEY: '/etc/w.key',
      MARINA_EDGE_MAX_UPLOAD_MB: '64',
    }).edge;
    expect(edge).toMatchObject({
      namePattern: '{org}-{instance}',
      caddyAdminUrl: 'http://127.0.0.1:2999',
      managedProxy: undefined,
      httpPort: 8080,
      httpsPort: 8443,
      dnsPort: 5399,
      accessLogPort: 5400,
      acme: { ca: 'https://acme.test/dir', email: 'ops@example.com', caRootsFile: '/etc/pebble.pem' },
      addresses: ['203.0.113.5', '2001:db8::5'],
      dnsResolver: { host: '::1', port: 5353 },
      wildcard: { certFile: '/etc/w.pem', keyFile: '/etc/w.key' },
      maxUploadMb: 64,
    });
    expect(
      loadConfig({ ...base, MARINA_BASE_DOMAIN: 'a.b', MARINA_DNS_RESOLVER: '10.0.0.2' }).edge?.dnsResolver,
    ).toEqual({
      host: '10.0.0.2',
      port: 53,
    });
    expect(loadConfig({ ...base, MARINA_BASE_DOMAIN: 'a.b', MARINA_ACME_CA: 'internal' }).edge?.acme.ca).toBe(
      'internal',
    );
  });

  it('run the proxy in a container of their own unless an operator-run Caddy is given', () => {
    const managed = loadConfig({
      ...base,
      MARINA_BASE_DOMAIN: 'a.b',
      MARINA_CADDY_IMAGE: 'registry.example.com/caddy:2.8',
      MARINA_CADDY_ADMIN_PORT: '2999',
    }).edge;
    expect(managed?.managedProxy).toEqual({ image: 'registry.example.com/caddy:2.8', adminPort: 2999 });
    expect(managed?.caddyAdminUrl).toBe('http://127.0.0.1:2999');
    const operated = loadConfig({
      ...base,
      MARINA_BASE_DOMAIN: 'a.b',
      MARINA_CADDY_ADMIN_URL: 'http://10.0.0.9:2019/',
    }).edge;
    expect(operated?.managedProxy).toBeUndefined();
    expect(operated?.caddyAdminUrl).toBe('http://10.0.0.9:2019');
    expect(
      problemsOf({
        MARINA_BASE_DOMAIN: 'a.b',
        MARINA_CADDY_ADMIN_URL: 'http://127.0.0.1:2019',
        MARINA_CADDY_IMAGE: 'caddy:2',
      }),
    ).toContain('MARINA_CADDY_IMAGE: only for the proxy Marina runs itself');
    const bad = problemsOf({ MARINA_BASE_DOMAIN: 'a.b', MARINA_CADDY_IMAGE: 'Caddy 2', MARINA_CADDY_ADMIN_PORT: '0' });
    expect(bad).toContain('MARINA_CADDY_IMAGE');
    expect(bad).toContain('MARINA_CADDY_ADMIN_PORT');
  });

  it('names each bad value and what it expects', () => {
    const message = problemsOf({
      MARINA_BASE_DOMAIN: 'apps.example.com',
      MARINA_EDGE_NAME_PATTERN: '{project}.{org}',
      MARINA_EDGE_HTTP_PORT: '0',
      MARINA_ACME_EMAIL: 'nobody',
      MARINA_EDGE_ADDRESSES: '203.0.113.5,example.com',
      MARINA_DNS_RESOLVER: 'dns.example.com:53',
      MARINA_EDGE_WILDCARD_CERT: '/etc/w.pem',
      MARINA_EDGE_MAX_UPLOAD_MB: '0',
    });
    for (const name of [
      'MARINA_EDGE_NAME_PATTERN',
      'MARINA_EDGE_HTTP_PORT',
      'MARINA_ACME_EMAIL',
      'MARINA_EDGE_ADDRESSES',
      'MARINA_DNS_RESOLVER',
      'MARINA_EDGE_WILDCARD_KEY',
      'MARINA_EDGE_MAX_UPLOAD_MB',
    ]) {
      expect(message).toContain(name);
    }
    expect(problemsOf({ MARINA_BASE_DOMAIN: 'localhost' })).toContain('MARINA_BASE_DOMAIN: expected a DNS name');
    expect(problemsOf({ MARINA_BASE_DOMAIN: '10.0.0.1' })).toContain('MARINA_BASE_DOMAIN');
    expect(
      problemsOf({ MARINA_BASE_DOMAIN: 'a.b', MARINA_EDGE_HTTP_PORT: '8443', MARINA_EDGE_HTTPS_PORT: '8443' }),
    ).toContain('must differ');
  });

  it('refuses edge settings without a base domain, rather than ignore them', () => {
    expect(problemsOf({ MARINA_CADDY_ADMIN_URL: 'http://127.0.0.1:2019' })).toContain('set MARINA_BASE_DOMAIN too');
    expect(problemsOf({ MARINA_CADDY_IMAGE: 'caddy:2' })).toContain('set MARINA_BASE_DOMAIN too');
  });
});
