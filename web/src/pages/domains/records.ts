import type { DnsRecord, Domain, DomainMethod } from './api';

/** DNS names and CNAME targets compare without case and without the root's trailing dot. */
const norm = (value: string): string => value.trim().replace(/\.$/, '').toLowerCase();
/** TXT values compare as written (a token is case-sensitive), quotes aside. */
const normValue = (record: DnsRecord): string =>
  record.type === 'TXT' ? record.value.trim().replace(/^"(.*)"$/, '$1') : norm(record.value);

export interface RecordCheck {
  expected: DnsRecord;
  /** What DNS answered for this name at the last check (any type: a stray A beside an expected CNAME shows). */
  answered: DnsRecord[];
  /** null: never checked yet. */
  matches: boolean | null;
}

/** Each record to create, beside what DNS answered for its name at the last check. */
export function compareRecords(domain: Pick<Domain, 'records' | 'found'>): RecordCheck[] {
  const isAddress = (r: DnsRecord) => r.type === 'A' || r.type === 'AAAA';
  const proxyAddresses = new Set(domain.records.filter(isAddress).map(normValue));
  return domain.records.map((expected) => {
    if (!domain.found) return { expected, answered: [], matches: null };
    const answered = domain.found.records.filter((r) => norm(r.name) === norm(expected.name));
    const present = answered.some((r) => r.type === expected.type && normValue(r) === normValue(expected));
    // An apex name that also points somewhere else is not verified: some visitors would not reach the proxy.
    const stray = isAddress(expected) && answered.some((r) => isAddress(r) && !proxyAddresses.has(normValue(r)));
    return { expected, answered, matches: present && !stray };
  });
}

export const methodLabel: Record<DomainMethod, string> = {
  cname: 'CNAME',
  apex: 'A/AAAA + TXT',
  txt: 'TXT only',
};

/** The method a name most likely wants: a bare domain (two labels) cannot have a CNAME. */
export function suggestedMethod(hostname: string): DomainMethod {
  const labels = hostname.trim().replace(/\.$/, '').split('.').filter(Boolean);
  return labels.length === 2 ? 'apex' : 'cname';
}

/** Hints before the server answers; the server's own error is what counts. */
export function hostnameHint(hostname: string): string | null {
  const name = hostname.trim();
  if (!name) return null;
  if (/^[a-z]+:\/\//i.test(name) || name.includes('/')) return 'Only the name, without https:// or a path.';
  if (name.startsWith('*')) return 'Wildcard names cannot be added: add each name.';
  if (/^[\d.]+$/.test(name) || name.includes(':')) return 'An IP address is not a domain name.';
  if (!name.includes('.')) return 'A domain name has at least two labels, like shop.example.com.';
  return null;
}
