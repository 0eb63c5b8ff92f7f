import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCertificate } from '../../../test/helpers/test-ca.js';
import { buildCaddyConfig, type EdgeInstanceState, type EdgeState, instanceServerName } from './caddy-config.js';

const run = promisify(execFile);
const CADDY = '/usr/bin/caddy';

const instance = (over: Partial<EdgeInstanceState> = {}): EdgeInstanceState => ({
  id: '0b7e8a52-1111-2222-3333-444455556666',
  edgeIp: '127.77.3.4',
  production: false,
  longpolling: false,
  platformHostname: 'main-erp-acme.apps.test',
  primaryHostname: null,
  httpUpstream: '127.0.0.1:20001',
  geventUpstream: null,
  protection: null,
  maxRequestBodyBytes: 64 * 1024 * 1024,
  ...over,
});

const state = (over: Partial<EdgeState> = {}): EdgeState => ({
  adminListen: '127.0.0.1:2999',
  httpPort: 80,
  httpsPort: 443,
  dnsPort: 5399,
  askUrl: 'http://127.0.0.1:9998/api/v1/edge/ask',
  acme: { ca: undefined, email: undefined, caRootsFile: undefined },
  wildcard: undefined,
  certificates: [],
  instances: [instance()],
  ...over,
});

// biome-ignore lint/suspicious/noExplicitAny: the tests walk Caddy's JSON by its documented keys.
type Json = Record<string, any>;
const servers = (config: Json) => config.apps.http.servers as Json;
const routesOf = (config: Json, id = instance().id) => servers(config)[instanceServerName(id)].routes as Json[];

describe('the Caddy configuration', () => {
  it('keeps the admin address, and has one public server resolving every name through the edge DNS', () => {
    const config = buildCaddyConfig(state()) as Json;
    expect(config.admin.listen).toBe('127.0.0.1:2999');
    const pub = servers(config).edge_public;
    expect(pub.listen).toEqual([':443']);
    expect(pub.strict_sni_host).toBe(true);
    const proxy = pub.routes[0].handle[0];
    expect(proxy.handler).toBe('reverse_proxy');
    expect(proxy.dynamic_upstreams).toMatchObject({
      source: 'a',
      name: '{http.request.host}.edge.marina.internal.',
      port: '8070',
      resolver: { addresses: ['udp/127.0.0.1:5399'] },
    });
    expect(proxy.trusted_proxies).toBeUndefined();
    expect(pub.errors.routes[0].handle[0]).toMatchObject({ status_code: 404 });
    expect(pub.errors.routes[0].handle[0].body).toContain('No site here');
  });

  it('redirects port 80 to HTTPS, with the port when it is not 443', () => {
    const plain = servers(buildCaddyConfig(state()) as Json).edge_public_http;
    expect(plain.listen).toEqual([':80']);
    expect(plain.routes[0].handle[0].headers.Location).toEqual(['https://{http.request.host}{http.request.uri}']);
    const other = servers(buildCaddyConfig(state({ httpPort: 8080, httpsPort: 8443 })) as Json).edge_public_http;
    expect(other.routes[0].handle[0].headers.Location).toEqual(['https://{http.request.host}:8443{http.request.uri}']);
  });

  it('gates on-demand certificates with the ask URL and uses the configured ACME CA', () => {
    const config = buildCaddyConfig(
      state({ acme: { ca: 'https://acme.test/dir', email: 'ops@x.test', caRootsFile: '/etc/roots.pem' } }),
    ) as Json;
    expect(config.apps.tls.automation.on_demand.ask).toBe('http://127.0.0.1:9998/api/v1/edge/ask');
    expect(config.apps.tls.automation.policies[0]).toEqual({
      on_demand: true,
      issuers: [
        {
          module: 'acme',
          ca: 'https://acme.test/dir',
          email: 'ops@x.test',
          trusted_roots_pem_files: ['/etc/roots.pem'],
        },
      ],
    });
    const internal = buildCaddyConfig(
      state({ acme: { ca: 'internal', email: undefined, caRootsFile: undefined } }),
    ) as Json;
    expect(internal.apps.tls.automation.policies[0].issuers).toEqual([{ module: 'internal' }]);
  });

  it('gives each instance its own server on its edge address, with its Odoo and the maintenance page', () => {
    const config = buildCaddyConfig(state()) as Json;
    const server = servers(config)[instanceServerName(instance().id)];
    expect(server.listen).toEqual(['127.77.3.4:8070']);
    expect(server.automatic_https).toEqual({ disable: true });
    const last = routesOf(config).at(-1) as Json;
    expect(last.handle.map((h: Json) => h.handler)).toEqual(['request_body', 'encode', 'reverse_proxy']);
    expect(last.handle[2].upstreams).toEqual([{ dial: '127.0.0.1:20001' }]);
    expect(last.handle[2].trusted_proxies).toEqual(['127.0.0.0/8']);
    const maintenance = (server.errors.routes as Json[]).at(-1) as Json;
    expect(maintenance.handle[0].status_code).toBe(503);
    expect(maintenance.handle[0].headers['Retry-After']).toEqual(['30']);
  });

  it('marks non-production noindex, and not production', () => {
    const robots = (config: Json) =>
      routesOf(config).some((r) => r.handle.some((h: Json) => h.response?.set?.['X-Robots-Tag']));
    expect(robots(buildCaddyConfig(state()) as Json)).toBe(true);
    expect(robots(buildCaddyConfig(state({ instances: [instance({ production: true })] })) as Json)).toBe(false);
  });

  it('redirects every other name to the primary one', () => {
    const redirect = (config: Json) => routesOf(config).find((r) => r.handle[0].status_code === 308) as Json;
    const platform = redirect(buildCaddyConfig(state()) as Json);
    expect(platform.match).toEqual([{ not: [{ host: ['main-erp-acme.apps.test'] }] }]);
    const custom = redirect(
      buildCaddyConfig(
        state({ httpsPort: 8443, instances: [instance({ primaryHostname: 'shop.example.com' })] }),
      ) as Json,
    );
    expect(custom.match).toEqual([{ not: [{ host: ['shop.example.com'] }] }]);
    expect(custom.handle[0].headers.Location).toEqual(['https://shop.example.com:8443{http.request.uri}']);
  });

  it('sends /websocket (and /longpolling for 15.0) to the gevent port when there is one', () => {
    const gevent = (over: Partial<EdgeInstanceState>) =>
      routesOf(buildCaddyConfig(state({ instances: [instance(over)] })) as Json).find((r) =>
        r.match?.[0]?.path?.includes('/websocket'),
      );
    expect(gevent({})).toBeUndefined();
    expect(gevent({ geventUpstream: '127.0.0.1:20002' })?.match[0].path).toEqual(['/websocket', '/websocket/*']);
    const old = gevent({ geventUpstream: '127.0.0.1:20002', longpolling: true });
    expect(old?.match[0].path).toContain('/longpolling/*');
    expect(old?.handle[0].upstreams).toEqual([{ dial: '127.0.0.1:20002' }]);
  });

  it("finds an unpublished container by its name in Marina's DNS, never by an address in the configuration", () => {
    const label = '0b7e8a52111122223333444455556666';
    const routes = routesOf(
      buildCaddyConfig(
        state({
          instances: [instance({ httpUpstream: { label, port: 8069 }, geventUpstream: { label, port: 8072 } })],
        }),
      ) as Json,
    );
    const proxies = routes.flatMap((r) => r.handle).filter((h: Json) => h.handler === 'reverse_proxy');
    expect(proxies).toHaveLength(2);
    for (const [proxy, port] of [
      [proxies[0], '8072'],
      [proxies[1], '8069'],
    ]) {
      expect(proxy.upstreams).toBeUndefined();
      expect(proxy.dynamic_upstreams).toEqual({
        source: 'a',
        name: `${label}.odoo.marina.internal.`,
        port,
        refresh: '3s',
        resolver: { addresses: ['udp/127.0.0.1:5399'] },
        dial_timeout: '2s',
      });
    }
    // The websocket route still goes first.
    expect(routes.find((r) => r.match?.[0]?.path)?.handle[0].dynamic_upstreams.port).toBe('8072');
  });

  it("refuses a body over the instance's own limit: announced ones before Odoo, chunked ones when cut", () => {
    const limited = buildCaddyConfig(
      state({ instances: [instance({ maxRequestBodyBytes: 5 * 1024 * 1024 })] }),
    ) as Json;
    const routes = routesOf(limited);
    const refusal = routes.find((r) => r.handle[0].status_code === 413) as Json;
    expect(refusal.match[0].expression).toContain(`> ${5 * 1024 * 1024}`);
    // Before the gevent and Odoo routes, so no path escapes it.
    expect(routes.indexOf(refusal)).toBeLessThan(routes.length - 1);
    expect((routes.at(-1) as Json).handle[0]).toEqual({ handler: 'request_body', max_size: 5 * 1024 * 1024 });
  });

  it('protects with basic auth (bcrypt, base64 as Caddy 2.6 takes it) or an allow-list', () => {
    const basic = routesOf(
      buildCaddyConfig(
        state({ instances: [instance({ protection: { kind: 'basic', username: 'u', passwordHash: '$2a$10$abc' } })] }),
      ) as Json,
    ).find((r) => r.handle[0].handler === 'authentication') as Json;
    const account = basic.handle[0].providers.http_basic.accounts[0];
    expect(account.username).toBe('u');
    expect(Buffer.from(account.password, 'base64').toString()).toBe('$2a$10$abc');
    const allow = routesOf(
      buildCaddyConfig(
        state({ instances: [instance({ protection: { kind: 'allow', addresses: ['10.0.0.0/8'] } })] }),
      ) as Json,
    ).find((r) => r.handle[0].status_code === 403) as Json;
    expect(allow.match).toEqual([{ not: [{ remote_ip: { ranges: ['10.0.0.0/8'], forwarded: true } }] }]);
  });

  it("logs the instance servers' requests to Marina only, stripped of headers, addresses and queries", () => {
    const quiet = buildCaddyConfig(state()) as Json;
    expect(quiet.logging).toBeUndefined();
    expect(servers(quiet)[instanceServerName(instance().id)].logs).toBeUndefined();
    const config = buildCaddyConfig(state({ accessLogAddress: 'udp/127.0.0.1:5400' })) as Json;
    expect(servers(config)[instanceServerName(instance().id)].logs).toEqual({
      default_logger_name: instanceServerName(instance().id),
    });
    // Marina's own UI is not behind the proxy; the public hop and the redirects are not an instance's.
    expect(servers(config).edge_public.logs).toBeUndefined();
    expect(servers(config).edge_public_http.logs).toBeUndefined();
    expect(config.logging.logs.default.exclude).toEqual(['http.log.access']);
    const log = config.logging.logs.marina_access;
    expect(log.include).toEqual(['http.log.access']);
    expect(log.writer).toMatchObject({ output: 'net', address: 'udp/127.0.0.1:5400' });
    expect(log.encoder.fields['request>headers']).toEqual({ filter: 'delete' });
    expect(log.encoder.fields['request>uri'].filter).toBe('regexp');
  });

  it('loads the wildcard certificate and uploaded ones, and is the same for the same state', () => {
    const s = state({
      wildcard: { certFile: '/c.pem', keyFile: '/k.pem' },
      certificates: [{ hostname: 'shop.example.com', certificatePem: 'CERT', keyPem: 'KEY' }],
    });
    const config = buildCaddyConfig(s) as Json;
    expect(config.apps.tls.certificates.load_files).toEqual([
      { certificate: '/c.pem', key: '/k.pem', tags: ['wildcard'] },
    ]);
    expect(config.apps.tls.certificates.load_pem).toEqual([
      { certificate: 'CERT', key: 'KEY', tags: ['domain:shop.example.com'] },
    ]);
    expect(JSON.stringify(buildCaddyConfig(s))).toBe(JSON.stringify(config));
    expect(buildCaddyConfig(state()).apps).not.toHaveProperty('tls.certificates');
  });
});

describe.skipIf(!existsSync(CADDY))("the configuration against Debian's Caddy 2.6", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marina-caddy-validate-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('passes `caddy validate` with every feature on', async () => {
    const wildcard = await makeSelfSignedCertificate(dir, 'wildcard', {
      names: ['*.apps.test', 'shop.example.com'],
      days: 2,
    });
    const config = buildCaddyConfig(
      state({
        httpPort: 18080,
        httpsPort: 18443,
        acme: { ca: 'https://127.0.0.1:14000/dir', email: 'ops@x.test', caRootsFile: wildcard.certificatePath },
        accessLogAddress: 'udp/127.0.0.1:18999',
        wildcard: { certFile: wildcard.certificatePath, keyFile: wildcard.keyPath },
        certificates: [
          { hostname: 'shop.example.com', certificatePem: wildcard.certificatePem, keyPem: wildcard.keyPem },
        ],
        instances: [
          instance({
            geventUpstream: '127.0.0.1:20002',
            longpolling: true,
            protection: {
              kind: 'basic',
              username: 'u',
              passwordHash: '$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy',
            },
          }),
          instance({
            id: '1b7e8a52-1111-2222-3333-444455556666',
            edgeIp: '127.77.3.5',
            production: true,
            primaryHostname: 'shop.example.com',
            protection: { kind: 'allow', addresses: ['10.0.0.0/8', '2001:db8::/32'] },
            // Not published: found by name in Marina's DNS.
            httpUpstream: { label: '1b7e8a52111122223333444455556666', port: 8069 },
            geventUpstream: { label: '1b7e8a52111122223333444455556666', port: 8072 },
          }),
        ],
      }),
    );
    await writeFile(join(dir, 'caddy.json'), JSON.stringify(config));
    const env = { ...process.env, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
    // Exits non-zero (and run() throws) when Caddy cannot provision any part of it.
    const { stdout, stderr } = await run(CADDY, ['validate', '--config', join(dir, 'caddy.json')], { env });
    expect(`${stdout}${stderr}`).toContain('Valid configuration');
  });

  it('and caddy refuses a broken one (the check can fail)', async () => {
    const config = buildCaddyConfig(state()) as Json;
    servers(config).edge_public.routes[0].handle[0].dynamic_upstreams.refresh = 'soon';
    await writeFile(join(dir, 'broken.json'), JSON.stringify(config));
    const env = { ...process.env, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
    await expect(run(CADDY, ['validate', '--config', join(dir, 'broken.json')], { env })).rejects.toThrow();
  });
});
