import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaddyAdmin } from '../src/adapters/proxy/caddy-admin.js';
import { EdgeSync } from '../src/modules/edge/sync.js';
import { MarinaError } from '../src/platform/errors.js';
import { type EdgeStack, startEdgeStack } from './helpers/edge-stack.js';

/** The coalesced loads against a real Caddy 2.6 (the edge-stack helper's). */

let stack: EdgeStack;
let admin: CaddyAdmin;
const logger = pino({ level: 'silent' });

/** A small whole configuration that keeps Caddy's admin address; `tag` makes versions differ. */
const configOf = (tag: string) => ({
  admin: { listen: new URL(stack.caddyAdminUrl).host },
  apps: {
    http: {
      servers: {
        probe: {
          listen: [`127.0.0.1:${stack.httpPort}`],
          routes: [{ handle: [{ handler: 'static_response', body: tag }] }],
        },
      },
    },
  },
});

async function served(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${stack.httpPort}/`)).text();
}

beforeAll(async () => {
  stack = await startEdgeStack();
  admin = new CaddyAdmin(stack.caddyAdminUrl);
}, 60_000);
afterAll(() => stack?.stop());

describe('edge sync', () => {
  it('makes one load of many requests, and none when nothing changed', async () => {
    let builds = 0;
    const sync = new EdgeSync({
      build: async () => {
        builds++;
        return configOf('first');
      },
      load: (config) => admin.load(config),
      logger,
    });
    for (let i = 0; i < 20; i++) sync.request(`change ${i}`);
    await sync.flush();
    expect(builds).toBe(1);
    expect(sync.loads).toBe(1);
    expect(await served()).toBe('first');
    sync.request('an instance stopped');
    await sync.flush();
    expect(builds).toBe(2);
    expect(sync.loads).toBe(1);
    await sync.stop();
  });

  it('retries a refused load by itself, then loads the good configuration', async () => {
    let version = 0;
    const sync = new EdgeSync({
      build: async () => {
        version++;
        // The first configuration is one Caddy refuses (an unknown handler).
        if (version === 1)
          return {
            ...configOf('bad'),
            apps: { http: { servers: { s: { listen: [':1'], routes: [{ handle: [{ handler: 'nope' }] }] } } } },
          };
        return configOf(`good ${version}`);
      },
      load: (config) => admin.load(config),
      logger,
      retryMs: [50],
    });
    sync.request('start');
    const failed = await sync.flush().catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(MarinaError);
    expect((failed as MarinaError).code).toBe('MARINA_E_PROXY_REJECTED');
    expect(sync.loads).toBe(0);
    // No new request: the retry alone brings the proxy up to date.
    const deadline = Date.now() + 5000;
    while (sync.loads === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(sync.loads).toBe(1);
    expect(await served()).toMatch(/^good/);
    await sync.stop();
  });

  it('says clearly when Caddy does not answer', async () => {
    const dead = new CaddyAdmin('http://127.0.0.1:1', 2000);
    const error = await dead.load(configOf('x')).catch((e: unknown) => e);
    expect((error as MarinaError).code).toBe('MARINA_E_PROXY_UNAVAILABLE');
    expect((error as MarinaError).message).toContain('127.0.0.1:1');
    expect(await admin.config()).toMatchObject({ apps: { http: { servers: { probe: {} } } } });
  });
});
