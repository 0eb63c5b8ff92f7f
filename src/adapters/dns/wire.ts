/**
 * The few pieces of the DNS wire format (RFC 1035 §4) that a signed dynamic update needs and
 * dns-packet lacks: it has no class NONE (254), which RFC 2136 §2.5.4 uses to delete one record,
 * and no TSIG record. Names are written uncompressed and in lower case (RFC 8945's canonical form).
 */

export const TYPE = { SOA: 6, TXT: 16, TSIG: 250 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE_UPDATE = 5;

/** A name in wire form: its labels, each with its length, ending with the root's empty label. */
export function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').toLowerCase().split('.').filter(Boolean);
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length > 63) throw new Error(`the DNS label "${label}" is longer than 63 characters`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const wire = Buffer.concat(parts);
  if (wire.length > 255) throw new Error(`the DNS name "${name}" is longer than 255 bytes`);
  return wire;
}

export const u16 = (value: number) => {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
};
export const u32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
};
export const u48 = (value: number) => {
  const buffer = Buffer.alloc(6);
  buffer.writeUIntBE(value, 0, 6);
  return buffer;
};

/** One resource record: owner, type, class, TTL and its data. */
export function encodeRecord(name: string, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  return Buffer.concat([encodeName(name), u16(type), u16(klass), u32(ttl), u16(rdata.length), rdata]);
}

/** TXT data: one or more character-strings of at most 255 bytes (an ACME value is 43). */
export function txtData(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length || parts.length === 0; at += 255) {
    const chunk = bytes.subarray(at, at + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

/** Reads a possibly compressed name at `offset`: the name, and where the bytes after it start. */
export function readName(message: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  let end = -1;
  for (let jumps = 0; jumps < 64; ) {
    const length = byteAt(message, at);
    if (length === 0) {
      return { name: `${labels.join('.')}.`.toLowerCase(), end: end === -1 ? at + 1 : end };
    }
    if ((length & 0xc0) === 0xc0) {
      if (end === -1) end = at + 2;
      at = ((length & 0x3f) << 8) | byteAt(message, at + 1);
      jumps += 1;
      continue;
    }
    if (at + 1 + length > message.length) break;
    labels.push(message.toString('ascii', at + 1, at + 1 + length));
    at += 1 + length;
  }
  throw new Error('a malformed name in a DNS message');
}

function byteAt(message: Buffer, at: number): number {
  const value = message[at];
  if (value === undefined) throw new Error('a DNS message cut short');
  return value;
}

export interface MessageLayout {
  id: number;
  flags: number;
  rcode: number;
  /** Where the last record of the additional section starts (the TSIG, when the message is signed). */
  lastAdditionalAt: number | undefined;
  additionalCount: number;
}

/** Walks a message's sections (without decoding records) to find where its last record starts. */
export function layoutOf(message: Buffer): MessageLayout {
  if (message.length < 12) throw new Error('a DNS message shorter than its header');
  const counts = [4, 6, 8, 10].map((at) => message.readUInt16BE(at)) as [number, number, number, number];
  let at = 12;
  for (let i = 0; i < counts[0]; i++) at = readName(message, at).end + 4;
  const records = counts[1] + counts[2] + counts[3];
  let lastAdditionalAt: number | undefined;
  for (let i = 0; i < records; i++) {
    if (i === records - 1 && counts[3] > 0) lastAdditionalAt = at;
    at = readName(message, at).end + 8;
    if (at + 2 > message.length) throw new Error('a DNS message cut short');
    at += 2 + message.readUInt16BE(at);
  }
  if (at > message.length) throw new Error('a DNS message cut short');
  const flags = message.readUInt16BE(2);
  return { id: message.readUInt16BE(0), flags, rcode: flags & 0xf, lastAdditionalAt, additionalCount: counts[3] };
}

export const RCODES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
};
