import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerQuery, EDGE_ZONE, EdgeDns, ODOO_ZONE } from './edge-dns.js';

const routes: Record<string, string> = { 'main-erp-acme.apps.test': '127.77.1.2', 'shop.example.com': '127.77.9.9' };
const RUNNING = '0123456789abcdef0123456789abcdef';
const containers: Record<string, string> = { [RUNNING]: '172.18.0.5' };
const dns = new EdgeDns(
  async (host) => (routes[host] ? { instanceId: 'x', edgeIp: routes[host] } : null),
  undefined,
  async (label) => containers[label] ?? null,
);
let port: number;

beforeAll(async () => {
  port = await dns.start(0);
});
afterAll(() => dns.stop());

function udpQuery(name: string, type: dnsPacket.RecordType = 'A') {
  return new Promise<dnsPacket.DecodedPacket & { rcode?: string }>((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => reject(new Error('no answer')), 2000);
    socket.on('message', (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(dnsPacket.decode(message));
    });
    socket.send(
      dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }),
      port,
      '127.0.0.1',
    );
  });
}

describe('the edge DNS', () => {
  it('listens on a free port for UDP and TCP when asked for port 0', () => {
    expect(port).toBeGreaterThan(0);
    expect(dns.port).toBe(port);
  });

  it("answers A <host>.edge.marina.internal. with the routed instance's edge address, case-insensitively", async () => {
    const answer = await udpQuery(`Main-ERP-Acme.apps.test.${EDGE_ZONE}.`);
    expect(answer.id).toBe(4242);
    expect(answer.rcode).toBe('NOERROR');
    expect(answer.flag_aa).toBe(true);
    expect(answer.answers).toHaveLength(1);
    expect(answer.answers?.[0]).toMatchObject({ type: 'A', data: '127.77.1.2' });
  });

  it('says NXDOMAIN for a name nobody routes, and an empty answer for other types of a routed one', async () => {
    expect((await udpQuery(`nothing.apps.test.${EDGE_ZONE}.`)).rcode).toBe('NXDOMAIN');
    const aaaa = await udpQuery(`shop.example.com.${EDGE_ZONE}.`, 'AAAA');
    expect(aaaa.rcode).toBe('NOERROR');
    expect(aaaa.answers).toHaveLength(0);
  });

  it('refuses names outside its zone', async () => {
    expect((await udpQuery('example.com.')).rcode).toBe('REFUSED');
    expect((await udpQuery('main-erp-acme.apps.test.')).rcode).toBe('REFUSED');
    expect((await udpQuery(`${EDGE_ZONE}.evil.test.`)).rcode).toBe('REFUSED');
  });

  it("answers A <instance>.odoo.marina.internal. with its container's address, NXDOMAIN when it does not run", async () => {
    const answer = await udpQuery(`${RUNNING.toUpperCase()}.${ODOO_ZONE}.`);
    expect(answer.rcode).toBe('NOERROR');
    expect(answer.flag_aa).toBe(true);
    expect(answer.answers?.[0]).toMatchObject({ type: 'A', data: '172.18.0.5' });
    // A container's address moves: kept briefly by whoever asks.
    expect(answer.answers?.[0]).toMatchObject({ ttl: 2 });
    expect((await udpQuery(`${'f'.repeat(32)}.${ODOO_ZONE}.`)).rcode).toBe('NXDOMAIN');
    expect((await udpQuery(`${RUNNING}.${ODOO_ZONE}.`, 'AAAA')).answers).toHaveLength(0);
  });

  it('refuses the Odoo zone when it has no lookup for it', async () => {
    const query = dnsPacket.encode({
      type: 'query',
      id: 1,
      questions: [{ type: 'A', name: `${RUNNING}.${ODOO_ZONE}` }],
    });
    const answer = await answerQuery(query, async () => null);
    expect((dnsPacket.decode(answer ?? Buffer.alloc(0)) as { rcode?: string }).rcode).toBe('REFUSED');
  });

  it('answers over TCP too', async () => {
    const query = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [{ type: 'A', name: `shop.example.com.${EDGE_ZONE}` }],
    });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(query.length);
    const answer = await new Promise<dnsPacket.DecodedPacket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => socket.write(Buffer.concat([length, query])));
      let data = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        data = Buffer.concat([data, chunk]);
        if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
          socket.end();
          resolve(dnsPacket.decode(data.subarray(2)));
        }
      });
      socket.on('error', reject);
    });
    expect(answer.answers?.[0]).toMatchObject({ type: 'A', data: '127.77.9.9' });
  });
});
