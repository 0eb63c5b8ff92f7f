import { isIPv4, isIPv6 } from 'node:net';

/**
 * Whom a limit counts. One IPv6 customer usually holds a whole /64 (and can use any address in
 * it), so IPv6 clients are counted per /64; IPv4 per address; an IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`) as the IPv4 address it is.
 */
export function clientKey(ip: string | null | undefined): string {
  if (!ip) return 'unknown';
  const bare = ip.trim().toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return bare;
  const groups = expandIPv6(bare);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, each as lower-case hex without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address;
  // A trailing dotted quad (::1.2.3.4) is two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => Number.parseInt(g, 16).toString(16));
}

/**
 * The email domain a per-domain limit counts: its last two labels, so that a1.example.tld and
 * a2.example.tld share example.tld's allowance (whoever owns a domain can make any number of
 * subdomains; a public suffix such as co.uk shares one allowance, which errs on the safe side).
 */
export function domainGroup(domain: string): string {
  const labels = domain.toLowerCase().replace(/\.$/, '').split('.').filter(Boolean);
  return labels.slice(-2).join('.');
}

/** At most this many clients are remembered by a live check; past it, new ones share one allowance. */
export const LIVE_CHECK_CLIENTS_CAP = 10_000;
const WINDOW_MS = 60_000;

/**
 * Counts a cheap public check per client over a minute, in memory (a restart forgives, which is
 * harmless). Entries older than a minute are dropped, and the map never holds more than the cap:
 * beyond it the newcomers share one bucket, so a flood of addresses neither grows memory nor
 * escapes the limit.
 */
export class PerMinuteCounter {
  private readonly byClient = new Map<string, { since: number; count: number }>();
  private lastPrune = 0;

  constructor(
    private readonly limit: number,
    private readonly cap = LIVE_CHECK_CLIENTS_CAP,
  ) {}

  /** Counts one check by `client` at `nowMs`; false when over the limit. */
  allow(client: string, nowMs: number): boolean {
    const full = this.byClient.size >= this.cap - 1;
    // Pruning walks the map: at most once a minute, or once a second while it is full.
    if (nowMs - this.lastPrune >= (full ? 1000 : WINDOW_MS)) this.prune(nowMs);
    let key = client;
    if (!this.byClient.has(key) && this.byClient.size >= this.cap - 1) key = '(overflow)';
    const entry = this.byClient.get(key);
    if (!entry || nowMs - entry.since >= WINDOW_MS) {
      this.byClient.set(key, { since: nowMs, count: 1 });
      return true;
    }
    entry.count += 1;
    return entry.count <= this.limit;
  }

  /** How many clients are remembered (for tests). */
  get size(): number {
    return this.byClient.size;
  }

  private prune(nowMs: number): void {
    for (const [key, entry] of this.byClient) if (nowMs - entry.since >= WINDOW_MS) this.byClient.delete(key);
    this.lastPrune = nowMs;
  }
}
