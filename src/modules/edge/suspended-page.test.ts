import { describe, expect, it } from 'vitest';
import { buildCaddyConfig, type EdgeInstanceState, type EdgeState, instanceServerName } from './caddy-config.js';
import { suspendedPage } from './pages.js';

// The suspended organization's page (#19), in the configuration the edge loads; the whole path
// through real Caddy is test/lifecycle.test.ts.

const instance = (over: Partial<EdgeInstanceState> = {}): EdgeInstanceState => ({
  id: '0b7e8a52-1111-2222-3333-444455556666',
  edgeIp: '127.77.3.4',
  production: true,
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
  signInUrl: 'https://marina.example.com',
  ...over,
});

// biome-ignore lint/suspicious/noExplicitAny: the tests walk Caddy's JSON by its documented keys.
type Json = Record<string, any>;
const routesOf = (config: Json) => config.apps.http.servers[instanceServerName(instance().id)].routes as Json[];

describe('the suspended page', () => {
  it('answers every request of a suspended instance first, with 503 and why, never reaching Odoo', () => {
    const routes = routesOf(buildCaddyConfig(state({ instances: [instance({ suspended: 'trial_ended' })] })));
    const first = routes[0] as Json;
    expect(first.terminal).toBe(true);
    expect(first.match).toBeUndefined();
    expect(first.handle[0]).toMatchObject({ handler: 'static_response', status_code: 503 });
    expect(first.handle[0].body).toContain("This site's trial has ended");
    expect(first.handle[0].body).toContain('https://marina.example.com');
    const admin = routesOf(buildCaddyConfig(state({ instances: [instance({ suspended: 'suspended' })] })))[0] as Json;
    expect(admin.handle[0].body).toContain('This site is suspended by its hosting provider');
  });

  it('changes nothing for an instance that is not suspended', () => {
    const plain = buildCaddyConfig(state({ instances: [instance()] }));
    const none = buildCaddyConfig(state({ instances: [instance({ suspended: null })] }));
    expect(none).toEqual(plain);
    expect(JSON.stringify(plain)).not.toContain('suspended by its hosting provider');
  });

  it('escapes the sign-in address', () => {
    const page = suspendedPage('suspended', 'https://marina.example.com/"><script>x</script>');
    expect(page).not.toContain('<script>x');
    expect(page).toContain('&lt;script&gt;');
  });
});
