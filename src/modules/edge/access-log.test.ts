import { createSocket } from 'node:dgram';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpTraffic } from '../metrics/http-traffic.js';
import { AccessLogListener, MAX_LINE_BYTES, parseAccessLine } from './access-log.js';
import { instanceServerName } from './caddy-config.js';

const ID = '0b7e8a52-1111-2222-3333-444455556666';
const SERVER = instanceServerName(ID);

/** A line as Caddy 2.6 writes it through Marina's filter encoder (caddy-config.ts). */
const line = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    level: 'info',
    ts: 1_700_000_000.5,
    logger: `http.log.access.${SERVER}`,
    msg: 'handled request',
    request: { proto: 'HTTP/1.1', method: 'GET', uri: '/web' },
    duration: 0.0123,
    size: 2,
    status: 200,
    ...over,
  });

describe('an access log line', () => {
  it('is read: the instance server, status and duration', () => {
    expect(parseAccessLine(line())).toEqual({ server: SERVER, status: 200, seconds: 0.0123 });
  });

  it('has no latency when it is a websocket or a long poll', () => {
    expect(parseAccessLine(line({ status: 101 }))?.seconds).toBeNull();
    expect(parseAccessLine(line({ request: { uri: '/websocket' } }))?.seconds).toBeNull();
    expect(parseAccessLine(line({ request: { uri: '/longpolling' } }))?.seconds).toBeNull();
  });

  it('is dropped when anything is off', () => {
    for (const bad of [
      '',
      'not json',
      '[1,2]',
      'null',
      '{"logger":',
      line({ logger: 'http.log.error.inst_abc' }),
      line({ logger: 'http.log.access.edge_public' }),
      line({ logger: `http.log.access.${SERVER}.extra` }),
      line({ logger: 42 }),
      line({ status: '200' }),
      line({ status: 200.5 }),
      line({ status: 99 }),
      line({ status: 600 }),
      line({ duration: -1 }),
      line({ duration: '0.1' }),
      line({ duration: 1e9 }),
      line({ duration: null }),
      line({ padding: 'x'.repeat(MAX_LINE_BYTES) }),
    ])
      expect(parseAccessLine(bad), bad.slice(0, 80)).toBeNull();
  });
});

describe('the access log listener (real UDP on loopback)', () => {
  let listener: AccessLogListener | undefined;
  afterEach(async () => {
    await listener?.stop();
  });

  async function started() {
    const traffic = new HttpTraffic();
    listener = new AccessLogListener({ traffic, logger: pino({ level: 'silent' }) });
    const port = await listener.start(0);
    expect(listener.address).toBe(`udp/127.0.0.1:${port}`);
    return { traffic, listener, port };
  }

  async function send(port: number, datagrams: string[]) {
    const socket = createSocket('udp4');
    for (const d of datagrams)
      await new Promise<void>((resolve, reject) =>
        socket.send(Buffer.from(d), port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
      );
    socket.close();
  }

  it("counts an instance's requests once the configuration naming it was accepted", async () => {
    const { traffic, listener, port } = await started();
    // Before serve(): no instance is known, the line is dropped and nothing is measured.
    await send(port, [line()]);
    await vi.waitFor(() => expect(listener.dropped).toBe(1));
    expect(traffic.take()).toBeUndefined();

    listener.serve([ID]);
    await send(port, [line(), line({ status: 503, duration: 0.2 }), `${line({ status: 302 })}\n`]);
    await vi.waitFor(() => expect(listener.accepted).toBe(3));
    const figures = traffic.take()?.get(ID);
    expect(figures?.requests).toBe(3);
    expect(figures?.totals.byClass).toMatchObject({ '2xx': 1, '3xx': 1, '5xx': 1 });
  });

  it('drops malformed lines and unknown servers without stopping, and stays bounded under a flood', async () => {
    const { traffic, listener, port } = await started();
    listener.serve([ID]);
    const bad = (i: number) =>
      i % 2 === 0 ? line({ logger: `http.log.access.inst_${(i + 1).toString(16)}` }) : '{"broken';
    // Few enough datagrams for the socket's receive buffer (UDP drops beyond it, by design).
    await send(port, [...Array.from({ length: 100 }, (_, i) => bad(i)), line()]);
    await vi.waitFor(() => expect(listener.accepted + listener.dropped).toBe(101));
    expect(listener.accepted).toBe(1);
    // A flood, handed over as the socket would: nothing grows but the counters.
    for (let i = 0; i < 100_000; i++) listener.receive(Buffer.from(bad(i)), { address: '127.0.0.1' });
    listener.receive(Buffer.from('x'.repeat(MAX_LINE_BYTES * 5)), { address: '127.0.0.1' });
    expect(listener.dropped).toBe(100_101);
    const figures = traffic.take();
    expect(figures?.size).toBe(1);
    expect(figures?.get(ID)?.requests).toBe(1);
  });

  it('refuses a datagram from another machine', async () => {
    const { traffic, listener } = await started();
    listener.serve([ID]);
    listener.receive(Buffer.from(line()), { address: '192.0.2.7' });
    listener.receive(Buffer.from(line()), { address: '::1' });
    expect(listener.dropped).toBe(1);
    expect(traffic.take()?.get(ID)?.requests).toBe(1);
  });
});
