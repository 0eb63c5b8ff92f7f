import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsUpdateError, sendDynamicUpdate } from '../src/adapters/dns/dynamic-update.js';
import { signMessage, TsigError, verifyResponse } from '../src/adapters/dns/tsig.js';
import { type KnotServer, startKnot } from './helpers/knot.js';

/** RFC 2136 updates signed with TSIG (src/adapters/dns/) against a real Knot. */

const ZONE = 'tsig.marina.test';
let knot: KnotServer;

beforeAll(async () => {
  knot = await startKnot(ZONE);
}, 30_000);
afterAll(() => knot?.stop());

const server = () => ({ host: knot.host, port: knot.port });

describe('signed dynamic updates (RFC 2136 + RFC 8945) against Knot', () => {
  it('adds a TXT value with a signed update Knot accepts, and removes exactly that value', async () => {
    const name = `_acme-challenge.${ZONE}`;
    const options = { server: server(), zone: ZONE, key: knot.key };
    await sendDynamicUpdate(options, [
      { op: 'add', name, value: 'first-value', ttl: 30 },
      { op: 'add', name, value: 'second-value', ttl: 30 },
    ]);
    expect((await knot.txt(name)).sort()).toEqual(['first-value', 'second-value']);

    await sendDynamicUpdate(options, [{ op: 'delete', name, value: 'first-value' }]);
    expect(await knot.txt(name)).toEqual(['second-value']);
    await sendDynamicUpdate(options, [{ op: 'delete', name, value: 'second-value' }]);
    expect(await knot.txt(name)).toEqual([]);
  });

  it('is refused with a wrong secret (BADSIG), and says so; nothing changes', async () => {
    const name = `wrong.${ZONE}`;
    const wrongKey = { ...knot.key, secret: randomBytes(32) };
    const refused = await sendDynamicUpdate({ server: server(), zone: ZONE, key: wrongKey }, [
      { op: 'add', name, value: 'never', ttl: 30 },
    ]).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DnsUpdateError);
    expect((refused as Error).message).toMatch(/refused the update \(NOTAUTH\).*BADSIG.*secret is wrong/);
    expect(await knot.txt(name)).toEqual([]);
  });

  it('is refused under a key name Knot does not know (BADKEY)', async () => {
    const unknown = { ...knot.key, name: 'someone-else.' };
    await expect(
      sendDynamicUpdate({ server: server(), zone: ZONE, key: unknown }, [
        { op: 'add', name: `x.${ZONE}`, value: 'v', ttl: 30 },
      ]),
    ).rejects.toThrow(/NOTAUTH.*BADKEY/);
  });

  it("is refused for a zone the server does not serve (the server's RCODE)", async () => {
    await expect(
      sendDynamicUpdate({ server: server(), zone: 'elsewhere.test', key: knot.key }, [
        { op: 'add', name: 'x.elsewhere.test', value: 'v', ttl: 30 },
      ]),
    ).rejects.toThrow(/NOTAUTH|REFUSED/);
  });

  it("verifies Knot's signed answer, and rejects it when one byte changed or with another key", async () => {
    // A signed answer of Knot's, caught by sending a raw signed update over TCP.
    const { buildUpdate } = await import('../src/adapters/dns/dynamic-update.js');
    const request = signMessage(
      buildUpdate(4242, ZONE, [{ op: 'add', name: `v.${ZONE}`, value: 'x', ttl: 30 }]),
      knot.key,
    );
    const answer = await rawTcp(knot.port, request.message);
    expect(() => verifyResponse(answer, knot.key, request.mac)).not.toThrow();

    const tampered = Buffer.from(answer);
    tampered[3] = (tampered[3] ?? 0) ^ 0x01; // RCODE NOERROR → FORMERR
    expect(() => verifyResponse(tampered, knot.key, request.mac)).toThrow(TsigError);
    expect(() => verifyResponse(tampered, knot.key, request.mac)).toThrow(/MAC does not verify/);
    expect(() => verifyResponse(answer, { ...knot.key, secret: randomBytes(32) }, request.mac)).toThrow(
      /MAC does not verify/,
    );
    // The answer's MAC covers the request's: another request's MAC does not match it.
    expect(() => verifyResponse(answer, knot.key, randomBytes(32))).toThrow(/MAC does not verify/);
    // Signed long ago (beyond the fudge): refused.
    expect(() => verifyResponse(answer, knot.key, request.mac, new Date(Date.now() + 3_600_000))).toThrow(/too old/);
  });
});

async function rawTcp(port: number, message: Buffer): Promise<Buffer> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(message.length);
    socket.once('connect', () => socket.write(Buffer.concat([length, message])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.destroy();
        resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
    socket.once('error', reject);
  });
}
