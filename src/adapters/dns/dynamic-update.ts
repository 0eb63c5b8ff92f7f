import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { signMessage, type TsigKey, verifyResponse } from './tsig.js';
import { CLASS, encodeName, encodeRecord, layoutOf, OPCODE_UPDATE, RCODES, TYPE, txtData, u16 } from './wire.js';

/**
 * RFC 2136 dynamic update, signed with TSIG, sent over TCP to a zone's primary server: how Marina
 * writes the `_acme-challenge` TXT records of a DNS-01 challenge into the operator's zone. Every
 * message is built here as bytes; no shell, no nsupdate.
 */

export interface DnsServerAddress {
  host: string;
  port: number;
}

export type TxtChange =
  /** Adds one TXT value to the name's records (others stay: a wildcard order has two). */
  | { op: 'add'; name: string; value: string; ttl: number }
  /** Removes exactly that value (class NONE, RFC 2136 §2.5.4). */
  | { op: 'delete'; name: string; value: string };

export interface DynamicUpdateOptions {
  server: DnsServerAddress;
  /** The zone the names are in (the update's zone section). */
  zone: string;
  key: TsigKey;
  timeoutMs?: number;
  now?: () => Date;
}

export class DnsUpdateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsUpdateError';
  }
}

/** Builds the unsigned UPDATE message (§2): header, zone, no prerequisites, the changes. */
export function buildUpdate(id: number, zone: string, changes: TxtChange[]): Buffer {
  const header = Buffer.concat([u16(id), u16(OPCODE_UPDATE << 11), u16(1), u16(0), u16(changes.length), u16(0)]);
  const zoneSection = Buffer.concat([encodeName(zone), u16(TYPE.SOA), u16(CLASS.IN)]);
  const updates = changes.map((change) =>
    change.op === 'add'
      ? encodeRecord(change.name, TYPE.TXT, CLASS.IN, change.ttl, txtData(change.value))
      : encodeRecord(change.name, TYPE.TXT, CLASS.NONE, 0, txtData(change.value)),
  );
  return Buffer.concat([header, zoneSection, ...updates]);
}

/** Sends one signed update and checks the answer: its id, its signature, then its RCODE. */
export async function sendDynamicUpdate(options: DynamicUpdateOptions, changes: TxtChange[]): Promise<void> {
  const now = options.now ?? (() => new Date());
  const id = randomInt(0, 0x10000);
  const request = signMessage(buildUpdate(id, options.zone, changes), options.key, now());
  const where = `${options.server.host}:${options.server.port}`;
  let response: Buffer;
  try {
    response = await exchangeTcp(options.server, request.message, options.timeoutMs ?? 10_000);
  } catch (error) {
    throw new DnsUpdateError(`the DNS server ${where} did not answer the update: ${(error as Error).message}`);
  }
  const layout = layoutOf(response);
  if (layout.id !== id || (layout.flags & 0x8000) === 0 || ((layout.flags >> 11) & 0xf) !== OPCODE_UPDATE)
    throw new DnsUpdateError(`the DNS server ${where} answered something other than this update`);
  const rcode = RCODES[layout.rcode] ?? `RCODE ${layout.rcode}`;
  try {
    verifyResponse(response, options.key, request.mac, now());
  } catch (error) {
    // A refused signature comes back unsigned: say what the server said, then why.
    throw new DnsUpdateError(`the DNS server ${where} refused the update (${rcode}): ${(error as Error).message}`);
  }
  if (layout.rcode !== 0)
    throw new DnsUpdateError(
      `the DNS server ${where} refused the update of zone ${options.zone}: ${rcode}${rcodeHint(layout.rcode)}`,
    );
}

function rcodeHint(rcode: number): string {
  if (rcode === 5) return ' (the key may not update this zone or name)';
  if (rcode === 9) return ' (the server is not authoritative for the zone, or refused the key)';
  if (rcode === 10) return ' (the name is not in the zone)';
  return '';
}

/** One DNS exchange over TCP: each message prefixed by its length (RFC 1035 §4.2.2). */
function exchangeTcp(server: DnsServerAddress, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    const done = (error: Error | null, answer?: Buffer) => {
      socket.destroy();
      if (error) reject(error);
      else resolve(answer as Buffer);
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('error', (error) => done(error));
    socket.once('connect', () => socket.write(Buffer.concat([u16(message.length), message])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0))
        done(null, received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    socket.once('end', () => done(new Error('the connection closed before a whole answer')));
  });
}
