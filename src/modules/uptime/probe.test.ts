import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundGuard } from '../../adapters/net/outbound.js';
import { postWebhook } from '../alerts/deliveries.js';
import { probe } from './probe.js';

// A real HTTP server on loopback: what a check and a webhook post see of good, bad and silent answers.
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') res.writeHead(200).end('{"status": "pass"}');
    else if (req.url === '/login') res.writeHead(303, { location: '/web/login' }).end();
    else if (req.url === '/hang') return;
    else res.writeHead(503).end(`<html><body>${'Service Unavailable '.repeat(50)}</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('an uptime probe', () => {
  it('passes 2xx and 3xx answers, and fails others with a bounded excerpt of the body', async () => {
    expect(await probe(`${base}/ok`, 1000)).toMatchObject({ status: 200, error: null });
    expect(await probe(`${base}/login`, 1000)).toMatchObject({ status: 303, error: null });
    const bad = await probe(`${base}/down`, 1000);
    expect(bad.status).toBe(503);
    expect(bad.error).toMatch(/^HTTP 503: <html><body>Service Unavailable/);
    expect(bad.error?.length).toBeLessThanOrEqual(300);
  });

  it('gives up at its deadline on a silent server, and names a refused connection', async () => {
    const started = Date.now();
    expect(await probe(`${base}/hang`, 300)).toMatchObject({ status: 0, error: 'no answer within 300 ms' });
    expect(Date.now() - started).toBeLessThan(1500);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await probe(`http://127.0.0.1:${port}/web/health`, 1000)).toMatchObject({
      status: 0,
      error: 'ECONNREFUSED',
    });
  });
});

describe('a webhook post', () => {
  const policy = (allowedRanges: string[]) => async () => ({ allowedRanges, protectedPorts: [] });

  it('is refused before connecting when the outbound guard refuses the address', async () => {
    const outcome = await postWebhook(outboundGuard(policy([])), `${base}/ok`, '{}', {});
    expect(outcome).toMatchObject({ ok: false, status: null, maybeTaken: false });
    expect(outcome.error).toMatch(/internal addresses/);
  });

  it('posts where the guard allows, and tells an error answer (safe to retry) from success', async () => {
    const guard = outboundGuard(policy(['127.0.0.0/8']));
    expect(await postWebhook(guard, `${base}/ok`, '{}', {})).toMatchObject({ ok: true, status: 200, maybeTaken: true });
    expect(await postWebhook(guard, `${base}/down`, '{}', {})).toMatchObject({
      ok: false,
      status: 503,
      maybeTaken: false,
    });
  });
});
