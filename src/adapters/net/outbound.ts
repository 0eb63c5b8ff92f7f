import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * The one gate for connections Marina opens on a user's behalf (S3 endpoints, SFTP hosts, git
 * remotes, ssh-keyscan): a name is resolved once, every address it has is checked, and the caller
 * connects to the address that was checked, so DNS cannot answer differently in between.
 */

/** Why an address is internal; null for a public one. */
export type AddressCategory =
  | 'unspecified'
  | 'loopback'
  | 'link-local'
  | 'private'
  | 'shared'
  | 'multicast'
  | 'reserved'
  | 'broadcast';

const CATEGORY_TEXT: Record<AddressCategory, string> = {
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  'link-local': 'a link-local address (such as the cloud metadata service)',
  private: 'a private network address',
  shared: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  broadcast: 'the broadcast address',
};

interface Range {
  /** 4 or 16 bytes, the network's first address. */
  bytes: Uint8Array;
  bits: number;
}

/** Bytes of an IPv4 or IPv6 literal (no brackets, no zone); null when it is neither. */
export function addressBytes(address: string): Uint8Array | null {
  const kind = isIP(address);
  if (kind === 4) return Uint8Array.from(address.split('.').map(Number));
  if (kind !== 6) return null;
  let text = address.toLowerCase();
  const bytes = new Uint8Array(16);
  // A dotted tail (::ffff:1.2.3.4) stands for the last two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (dotted?.[1]) {
    tail = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}0:0`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...restGroups];
  groups.forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

function matches(bytes: Uint8Array, range: Range): boolean {
  if (bytes.length !== range.bytes.length) return false;
  let bits = range.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] as number) & mask) !== ((range.bytes[i] as number) & mask)) return false;
  }
  return true;
}

function range(cidr: string): Range {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`bad built-in range ${cidr}`);
  return parsed;
}

/** `a.b.c.d/n` or `x:y::/n` (a bare address is a /32 or /128); null when not valid. */
export function parseCidr(text: string): Range | null {
  const [address = '', bitsText, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const bytes = addressBytes(address);
  if (!bytes) return null;
  const max = bytes.length * 8;
  if (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) return null;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (bits > max) return null;
  return { bytes, bits };
}

/** The canonical text of a CIDR range (host bits cleared), or null when not valid. */
export function normalizeCidr(text: string): string | null {
  const parsed = parseCidr(text);
  if (!parsed) return null;
  const bytes = Uint8Array.from(parsed.bytes);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, parsed.bits - i * 8));
    bytes[i] = (bytes[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return `${textOf(bytes)}/${parsed.bits}`;
}

function textOf(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  // Shorten the longest run of zero groups, as RFC 5952 writes it.
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (best === -1) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

const V4_RANGES: [Range, AddressCategory][] = [
  [range('0.0.0.0/8'), 'unspecified'],
  [range('10.0.0.0/8'), 'private'],
  [range('100.64.0.0/10'), 'shared'],
  [range('127.0.0.0/8'), 'loopback'],
  [range('169.254.0.0/16'), 'link-local'],
  [range('172.16.0.0/12'), 'private'],
  [range('192.0.0.0/24'), 'reserved'],
  [range('192.168.0.0/16'), 'private'],
  [range('198.18.0.0/15'), 'reserved'],
  [range('255.255.255.255/32'), 'broadcast'],
  [range('224.0.0.0/4'), 'multicast'],
  [range('240.0.0.0/4'), 'reserved'],
];

const V6_RANGES: [Range, AddressCategory][] = [
  [range('::/128'), 'unspecified'],
  [range('::1/128'), 'loopback'],
  [range('fe80::/10'), 'link-local'],
  [range('fec0::/10'), 'private'],
  [range('fc00::/7'), 'private'],
  [range('ff00::/8'), 'multicast'],
];

/** IPv6 forms that carry an IPv4 address Marina would in effect reach: mapped, compatible, NAT64, 6to4. */
const EMBEDDED_V4: [Range, number][] = [
  [range('::ffff:0:0/96'), 12],
  [range('::/96'), 12],
  [range('64:ff9b::/96'), 12],
  [range('64:ff9b:1::/48'), 12],
  [range('2002::/16'), 2],
];

/** The IPv4 address inside an IPv6 one that stands for it, or the address itself. */
function effective(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 4) return bytes;
  // :: and ::1 are IPv6's own, not IPv4-compatible forms of 0.0.0.0 and 0.0.0.1.
  if (matches(bytes, range('::/127'))) return bytes;
  for (const [embedding, offset] of EMBEDDED_V4) if (matches(bytes, embedding)) return bytes.slice(offset, offset + 4);
  return bytes;
}

/** Why an IP literal is internal, or null for a public address. Not an IP at all: 'reserved'. */
export function classifyAddress(address: string): AddressCategory | null {
  const bytes = addressBytes(address);
  if (!bytes) return 'reserved';
  const real = effective(bytes);
  for (const [r, category] of real.length === 4 ? V4_RANGES : V6_RANGES) if (matches(real, r)) return category;
  return null;
}

export interface OutboundPolicy {
  /** Internal ranges a platform admin allows (CIDR text). */
  allowedRanges: readonly string[];
  /** Ports of this machine no user may point Marina at, allow-listed or not: its own, its database's, instances'. */
  protectedPorts: readonly { from: number; to: number }[];
}

/** What was checked: connect to `address`, and keep `host` for TLS, Host headers and messages. */
export interface CheckedAddress {
  host: string;
  address: string;
  family: 4 | 6;
  port: number;
}

export class OutboundRefusedError extends Error {
  constructor(
    readonly host: string,
    readonly category: AddressCategory | 'self',
    message: string,
  ) {
    super(message);
    this.name = 'OutboundRefusedError';
  }
}

export class OutboundLookupError extends Error {
  constructor(
    readonly host: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`The host name "${host}" cannot be resolved (${code}).`, options);
    this.name = 'OutboundLookupError';
  }
}

/** Addresses of this machine's own interfaces: whatever listens on it can be reached through them. */
function ownAddresses(): Uint8Array[] {
  const found: Uint8Array[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const entry of list ?? []) {
      const bytes = addressBytes(entry.address.split('%')[0] as string);
      if (bytes) found.push(effective(bytes));
    }
  return found;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Throws OutboundRefusedError when Marina must not connect to this address and port. */
export function checkAddress(host: string, address: string, port: number, policy: OutboundPolicy): void {
  const bytes = addressBytes(address);
  if (!bytes) throw new OutboundRefusedError(host, 'reserved', `"${address}" is not an IP address.`);
  const real = effective(bytes);
  const category = classifyAddress(address);
  const self = category === 'loopback' || category === 'unspecified' || ownAddresses().some((a) => sameBytes(a, real));
  if (self && policy.protectedPorts.some((p) => port >= p.from && port <= p.to))
    throw new OutboundRefusedError(
      host,
      'self',
      `${host} port ${port} is one of Marina's own ports on this machine (its API, database or instances): Marina does not connect to it.`,
    );
  if (category === null) return;
  const allowed = policy.allowedRanges.some((text) => {
    const r = parseCidr(text);
    return r !== null && (matches(real, r) || matches(bytes, r));
  });
  if (allowed) return;
  throw new OutboundRefusedError(
    host,
    category,
    `${host} is ${host === address ? '' : 'a name for '}${CATEGORY_TEXT[category]}: Marina does not connect to internal addresses unless a platform admin allows the range (Settings → Outbound connections).`,
  );
}

/** A host as a user wrote it, without IPv6 brackets. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Resolves a host to all its addresses and checks each: one internal address refuses the whole name,
 * since which one a client picks is not Marina's to choose. Returns the first, to connect to.
 */
export async function checkOutbound(
  hostText: string,
  port: number,
  policy: OutboundPolicy,
  resolver: Resolver = systemResolver,
): Promise<CheckedAddress> {
  const host = bareHost(hostText);
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await resolver(host);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
      throw new OutboundLookupError(host, code, { cause: error });
    }
    if (addresses.length === 0) throw new OutboundLookupError(host, 'ENODATA');
  }
  for (const found of addresses) checkAddress(host, found.address, port, policy);
  const first = addresses[0] as { address: string; family: number };
  return { host, address: first.address, family: first.family === 6 ? 6 : 4, port };
}

/** Where the current policy comes from (a platform setting), read at each check so a change applies at once. */
export interface OutboundGuard {
  policy(): Promise<OutboundPolicy>;
  check(host: string, port: number): Promise<CheckedAddress>;
}

export function outboundGuard(load: () => Promise<OutboundPolicy>, resolver?: Resolver): OutboundGuard {
  return {
    policy: load,
    check: async (host, port) => checkOutbound(host, port, await load(), resolver),
  };
}

/**
 * A `lookup` for net/tls/http agents: every name a client looks up (an S3 endpoint, a bucket's
 * virtual host) is checked with the same rules and the socket gets exactly the checked address.
 */
export function guardedLookup(guard: OutboundGuard, port: number): LookupFunction {
  return (hostname, options, callback) => {
    guard.check(hostname, port).then(
      (checked) => {
        if (options.all) callback(null, [{ address: checked.address, family: checked.family }]);
        else callback(null, checked.address, checked.family);
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
}
