import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { probeCertificate } from '../src/modules/edge/certificate-probe.js';
import { type EdgeStack, edgeRequest, startEdgeStack } from './helpers/edge-stack.js';

/**
 * The real TLS stack on its own (Caddy 2.6, Pebble, pebble-challtestsrv), driven by a minimal
 * hand-written on-demand configuration and a tiny upstream that also answers `ask`: proves what
 * Marina's edge relies on — certificates issued on demand only for allowed names, HTTP-01 and
 * TLS-ALPN-01 against the edge's ports, redirects, `--resume` — independently of Marina's code.
 */

let stack: EdgeStack;
let upstream: Server;
let upstreamPort: number;
const allowed = new Set<string>();
const asked: string[] = [];

function handWrittenConfig(): unknown {
  return {
    admin: { listen: new URL(stack.caddyAdminUrl).host },
    apps: {
      http: {
        http_port: stack.httpPort,
        https_port: stack.httpsPort,
        servers: {
          public_https: {
            listen: [`127.0.0.1:${stack.httpsPort}`],
            strict_sni_host: true,
            tls_connection_policies: [{}],
            routes: [{ handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: `127.0.0.1:${upstreamPort}` }] }] }],
          },
          public_http: {
            listen: [`127.0.0.1:${stack.httpPort}`],
            routes: [
              {
                handle: [
                  {
                    handler: 'static_response',
                    status_code: 308,
                    headers: { Location: [`https://{http.request.host}:${stack.httpsPort}{http.request.uri}`] },
                  },
                ],
              },
            ],
          },
        },
      },
      tls: {
        automation: {
          policies: [
            {
              on_demand: true,
              issuers: [
                {
                  module: 'acme',
                  ca: stack.acmeDirectoryUrl,
                  email: 'edge-tests@marina.test',
                  trusted_roots_pem_files: [stack.acmeCaRootsPath],
                },
              ],
            },
          ],
          on_demand: { ask: `http://127.0.0.1:${upstreamPort}/ask` },
        },
      },
    },
  };
}

beforeAll(async () => {
  upstream = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://upstream');
    if (url.pathname === '/ask') {
      const domain = url.searchParams.get('domain') ?? '';
      asked.push(domain);
      response.statusCode = allowed.has(domain) ? 200 : 404;
      response.end();
      return;
    }
    response.setHeader('content-type', 'text/plain');
    response.end(`upstream saw ${request.headers.host} ${request.url}`);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const address = upstream.address();
  upstreamPort = typeof address === 'object' && address ? address.port : 0;
  stack = await startEdgeStack();
  await stack.loadCaddyConfig(handWrittenConfig());
});

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe('the edge stack (Caddy + Pebble + challtestsrv) with a hand-written on-demand configuration', () => {
  it('issues a Pebble certificate on demand for an allowed name and proxies the request', async () => {
    allowed.add('shop.stack.test');
    await stack.pointAtEdge('shop.stack.test');
    const ordersBefore = stack.pebbleOrderCount();

    const response = await edgeRequest(stack, { hostname: 'shop.stack.test', path: '/web/login', timeoutMs: 20_000 });

    expect(response.status).toBe(200);
    expect(response.body).toBe(`upstream saw shop.stack.test:${stack.httpsPort} /web/login`);
    expect(response.certificate?.subjectaltname).toBe('DNS:shop.stack.test');
    expect(response.certificate?.issuer.CN).toMatch(/^Pebble Intermediate CA /);
    // The chain verifies against Pebble's issuing root (and the name is covered)…
    expect(response.authorizationError).toBeNull();
    expect(response.authorized).toBe(true);
    // …and against nothing else: the test CA behind Pebble's own listener does not vouch for it.
    const again = await edgeRequest(stack, {
      hostname: 'shop.stack.test',
      ca: await readFile(stack.acmeCaRootsPath, 'utf8'),
    });
    expect(again.authorized).toBe(false);
    // Counted from Pebble's log, read from its pipe a moment after the handshake may have ended.
    await vi.waitFor(() => expect(stack.pebbleOrderCount()).toBe(ordersBefore + 1), { timeout: 10_000, interval: 100 });
    expect(stack.pebbleValidationsFor('shop.stack.test')).toBeGreaterThanOrEqual(1);
    expect(asked).toContain('shop.stack.test');
  });

  it('refuses the handshake for a name the ask endpoint refuses, without reaching the CA', async () => {
    await stack.pointAtEdge('stranger.stack.test');
    const ordersBefore = stack.pebbleOrderCount();

    await expect(edgeRequest(stack, { hostname: 'stranger.stack.test', timeoutMs: 10_000 })).rejects.toThrow(
      /alert|socket hang up|ECONNRESET/,
    );

    expect(asked).toContain('stranger.stack.test');
    expect(stack.pebbleOrderCount()).toBe(ordersBefore);
    expect(stack.pebbleValidationsFor('stranger.stack.test')).toBe(0);
    expect(await stack.dnsQueriesFor('stranger.stack.test')).toEqual([]);
  });

  it('lets certificate-probe report the issuer and expiry the edge serves for a name', async () => {
    allowed.add('probe.stack.test');
    await stack.pointAtEdge('probe.stack.test');
    // The first handshake triggers issuance; the probe then sees the issued certificate.
    const served = await edgeRequest(stack, { hostname: 'probe.stack.test', timeoutMs: 20_000 });
    expect(served.authorized).toBe(true);

    const state = await probeCertificate({ host: '127.0.0.1', port: stack.httpsPort }, 'probe.stack.test', {
      ca: stack.issuingRootPem,
    });

    const leaf = new X509Certificate(served.certificate?.raw ?? Buffer.alloc(0));
    expect(state).toMatchObject({
      issuer: expect.stringMatching(/^Pebble Intermediate CA /),
      subject: 'probe.stack.test',
      notAfter: new Date(leaf.validTo).toISOString(),
      trusted: true,
    });
    expect(state.error).toBeUndefined();
    expect(Date.parse(state.notAfter ?? '')).toBeGreaterThan(Date.now());
  });

  it('redirects plain HTTP to https on the edge port', async () => {
    const response = await edgeRequest(stack, { hostname: 'shop.stack.test', scheme: 'http', path: '/shop?page=2' });
    expect(response.status).toBe(308);
    expect(response.headers.location).toBe(`https://shop.stack.test:${stack.httpsPort}/shop?page=2`);
  });

  it('comes back after a restart with --resume: same routes, the stored certificate, no new order', async () => {
    const ordersBefore = stack.pebbleOrderCount();
    const before = await edgeRequest(stack, { hostname: 'shop.stack.test' });

    await stack.restartCaddy();

    const after = await edgeRequest(stack, { hostname: 'shop.stack.test', path: '/after' });
    expect(after.status).toBe(200);
    expect(after.body).toBe(`upstream saw shop.stack.test:${stack.httpsPort} /after`);
    expect(after.certificate?.fingerprint256).toBe(before.certificate?.fingerprint256);
    expect(stack.pebbleOrderCount()).toBe(ordersBefore);
  });
});
