/**
 * Platform names and edge addresses, pure: an instance's name under the base domain comes from
 * MARINA_EDGE_NAME_PATTERN and is one DNS label; its edge address is a free one of 127.77.0.0/16.
 */

/**
 * Words a platform name may never be: they name (or may one day name) the platform's own services,
 * or are names mail clients, browsers and certificate authorities look up by convention under a
 * domain (autoconfig, autodiscover, mta-sts, wpad…): a tenant holding one could answer for them.
 */
export const RESERVED_LABELS: ReadonlySet<string> = new Set(
  [
    'www api admin mail smtp imap pop ftp ns ns1 ns2 marina app apps status docs help support billing root localhost',
    'console portal login auth sso account accounts signup dashboard static assets cdn',
    'mta-sts autoconfig autodiscover wpad isatap pop3 webmail mx email postmaster hostmaster abuse webmaster',
  ]
    .join(' ')
    .split(' '),
);

/**
 * The console's own label when Marina's public URL is a name directly under the base domain
 * (`console.<base>` → `console`), so no instance can be given the console's hostname; else undefined.
 */
export function consoleLabel(publicUrl: string | undefined, baseDomain: string): string | undefined {
  if (!publicUrl) return undefined;
  let host: string;
  try {
    host = new URL(publicUrl).hostname.toLowerCase().replace(/\.$/, '');
  } catch {
    return undefined;
  }
  const suffix = `.${baseDomain.toLowerCase()}`;
  if (!host.endsWith(suffix)) return undefined;
  const label = host.slice(0, -suffix.length);
  return label !== '' && !label.includes('.') ? label : undefined;
}

export const MAX_LABEL = 63;

/** Lower case, letters/digits/dashes only, no leading, trailing or doubled dashes. */
export function labelPart(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** The pattern filled in, as one DNS label of at most 63 characters (never empty). */
export function platformLabel(pattern: string, parts: { instance: string; project: string; org: string }): string {
  const filled = pattern
    .replaceAll('{instance}', labelPart(parts.instance))
    .replaceAll('{project}', labelPart(parts.project))
    .replaceAll('{org}', labelPart(parts.org));
  const label = labelPart(filled).slice(0, MAX_LABEL).replace(/-+$/, '');
  return label === '' ? 'odoo' : label;
}

/**
 * The first of `label`, `label-2`, `label-3`… that is neither reserved nor taken; the suffix
 * replaces the label's end when it would pass 63 characters.
 */
export function uniqueLabel(label: string, taken: (candidate: string) => boolean): string {
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? '' : `-${n}`;
    const head = label.slice(0, MAX_LABEL - suffix.length).replace(/-+$/, '');
    const candidate = `${head}${suffix}`;
    if (!RESERVED_LABELS.has(candidate) && !taken(candidate)) return candidate;
  }
}

/** The edge's loopback range: 127.77.0.0/16, without the .0 and .255 of each /24. */
export const EDGE_PREFIX = '127.77.';

export function isEdgeIp(ip: string): boolean {
  const match = /^127\.77\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  return match !== null && Number(match[1]) <= 255 && Number(match[2]) >= 1 && Number(match[2]) <= 254;
}

/**
 * Edge addresses to try, in a random order: an address is picked at random rather than the lowest
 * free one, so a deleted instance's address is not handed out again at once (a client or a DNS
 * cache holding it would reach the next tenant) and two Marinas sharing a machine rarely meet.
 */
export function* edgeIpCandidates(random: () => number = Math.random): Generator<string> {
  const size = 256 * 254;
  const start = Math.floor(random() * size);
  // A stride coprime with the size walks every address once from a random start.
  const stride = 7919;
  for (let i = 0; i < size; i++) {
    const n = (start + i * stride) % size;
    yield `${EDGE_PREFIX}${Math.floor(n / 254)}.${(n % 254) + 1}`;
  }
}
