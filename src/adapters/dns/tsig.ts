import { createHmac, timingSafeEqual } from 'node:crypto';
import { CLASS, encodeName, encodeRecord, layoutOf, readName, TYPE, u16, u32, u48 } from './wire.js';

/**
 * TSIG (RFC 8945): a shared-secret HMAC over a DNS message, which is how an authoritative server
 * (BIND, Knot, PowerDNS…) knows a dynamic update comes from someone allowed to make it — and how
 * the client knows the answer comes from that server. Only HMAC-SHA256 and HMAC-SHA512, whole MACs.
 */

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512';

export interface TsigKey {
  /** The key's name as the server knows it (a DNS name, e.g. `marina-acme.`). */
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

/** Seconds of clock difference either side allowed (RFC 8945 §10 recommends 300). */
export const TSIG_FUDGE = 300;

const HASH: Record<TsigAlgorithm, string> = { 'hmac-sha256': 'sha256', 'hmac-sha512': 'sha512' };
/** The TSIG errors of RFC 8945 §3 (in the TSIG record's Error field), as a server sends them back. */
const TSIG_ERRORS: Record<number, string> = {
  16: 'BADSIG (the MAC did not verify: the TSIG secret is wrong)',
  17: 'BADKEY (the server does not know this key name or algorithm)',
  18: "BADTIME (the clocks differ by more than the fudge: check this machine's time)",
  22: 'BADTRUNC',
};

/** The TSIG variables of §4.3.3, in order: what the MAC covers after the message. */
function variables(key: TsigKey, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer {
  return Buffer.concat([
    encodeName(key.name),
    u16(CLASS.ANY),
    u32(0),
    encodeName(key.algorithm),
    u48(timeSigned),
    u16(fudge),
    u16(error),
    u16(other.length),
    other,
  ]);
}

function mac(key: TsigKey, parts: Buffer[]): Buffer {
  const hmac = createHmac(HASH[key.algorithm], key.secret);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

export interface SignedRequest {
  message: Buffer;
  /** The request's MAC: the response's MAC covers it (§4.3.1), so verify() needs it. */
  mac: Buffer;
}

/**
 * Signs a whole message (header counts as they are, without the TSIG): appends the TSIG record as
 * the last additional record and counts it in ARCOUNT (§4.2, §5.1).
 */
export function signMessage(message: Buffer, key: TsigKey, now: Date = new Date()): SignedRequest {
  const timeSigned = Math.floor(now.getTime() / 1000);
  const digest = mac(key, [message, variables(key, timeSigned, TSIG_FUDGE, 0, Buffer.alloc(0))]);
  const rdata = Buffer.concat([
    encodeName(key.algorithm),
    u48(timeSigned),
    u16(TSIG_FUDGE),
    u16(digest.length),
    digest,
    u16(message.readUInt16BE(0)), // Original ID
    u16(0), // Error
    u16(0), // Other Len
  ]);
  const signed = Buffer.concat([message, encodeRecord(key.name, TYPE.TSIG, CLASS.ANY, 0, rdata)]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { message: signed, mac: digest };
}

export class TsigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TsigError';
  }
}

/**
 * Checks the TSIG of a server's response to a signed request (§5.3): the record is there, names
 * the same key and algorithm, carries no TSIG error, its MAC covers the request's MAC + the
 * response + the variables, and its time is within the fudge. Throws a TsigError saying which.
 */
export function verifyResponse(response: Buffer, key: TsigKey, requestMac: Buffer, now: Date = new Date()): void {
  const layout = layoutOf(response);
  const at = layout.lastAdditionalAt;
  if (at === undefined) throw new TsigError('the DNS server answered without a TSIG signature');
  const owner = readName(response, at);
  const type = response.readUInt16BE(owner.end);
  if (type !== TYPE.TSIG) throw new TsigError('the DNS server answered without a TSIG signature');
  let offset = owner.end + 10;
  const algorithm = readName(response, offset);
  offset = algorithm.end;
  const timeSigned = response.readUIntBE(offset, 6);
  const fudge = response.readUInt16BE(offset + 6);
  const macSize = response.readUInt16BE(offset + 8);
  offset += 10;
  const theirMac = response.subarray(offset, offset + macSize);
  offset += macSize;
  const originalId = response.readUInt16BE(offset);
  const error = response.readUInt16BE(offset + 2);
  const otherLength = response.readUInt16BE(offset + 4);
  const other = response.subarray(offset + 6, offset + 6 + otherLength);

  if (error !== 0)
    throw new TsigError(`the DNS server refused the signature: ${TSIG_ERRORS[error] ?? `TSIG error ${error}`}`);
  if (owner.name !== encodeNameText(key.name) || algorithm.name !== encodeNameText(key.algorithm))
    throw new TsigError(`the DNS server signed with another key (${owner.name} ${algorithm.name})`);
  // The MAC covers the message as it was before the TSIG was added: original ID, one record less.
  const unsigned = Buffer.from(response.subarray(0, at));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(layout.additionalCount - 1, 10);
  const expected = mac(key, [
    u16(requestMac.length),
    requestMac,
    unsigned,
    variables(key, timeSigned, fudge, error, other),
  ]);
  if (theirMac.length !== expected.length || !timingSafeEqual(theirMac, expected))
    throw new TsigError("the DNS server's answer is not signed with this key (its MAC does not verify)");
  if (Math.abs(now.getTime() / 1000 - timeSigned) > fudge)
    throw new TsigError("the DNS server's signature is too old or too new (check this machine's time)");
}

/** `Key.Name` → `key.name.` (how readName spells names). */
function encodeNameText(name: string): string {
  return `${name.replace(/\.$/, '').toLowerCase()}.`;
}

/**
 * The operator's key, written `<name>:<algorithm>:<base64 secret>` (MARINA_EDGE_DNS01_TSIG), or
 * undefined when malformed.
 */
export function parseTsigKey(raw: string): TsigKey | undefined {
  const [name, algorithm, secret, ...rest] = raw.trim().split(':');
  if (rest.length > 0 || !name || !secret) return undefined;
  if (algorithm !== 'hmac-sha256' && algorithm !== 'hmac-sha512') return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret)) return undefined;
  const bytes = Buffer.from(secret, 'base64');
  if (bytes.length < 16) return undefined;
  try {
    encodeName(name);
  } catch {
    return undefined;
  }
  if (!/^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/.test(name)) return undefined;
  return { name: encodeNameText(name), algorithm, secret: bytes };
}
