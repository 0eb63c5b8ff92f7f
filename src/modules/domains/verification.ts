import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { DomainMethod } from '../../db/schema.js';

export type DnsRecordType = 'CNAME' | 'TXT' | 'A' | 'AAAA';
export interface DnsRecord {
  type: DnsRecordType;
  name: string;
  value: string;
}

/** What DNS answered at one check, shown to the user as is next to what was expected. */
export interface DnsFound {
  checkedAt: string;
  records: DnsRecord[];
  error?: string;
}

export interface CheckOutcome {
  found: DnsFound;
  verified: boolean;
  /** Why it is not verified yet, in words a user can act on (null when verified). */
  problem: string | null;
}

/** The label under which a TXT record proves ownership. */
export const CHALLENGE_LABEL = '_marina-challenge';

export interface ExpectationContext {
  /** The instance's platform name, the CNAME target. */
  platformHostname: string | null;
  /** The proxy's public addresses, the A/AAAA targets of an apex name. */
  proxyAddresses: string[];
}

/** The exact records a user creates for a method: what the domain's page shows, and what a check compares. */
export function expectedRecords(
  hostname: string,
  method: DomainMethod,
  token: string,
  ctx: ExpectationContext,
): DnsRecord[] {
  const txt: DnsRecord = { type: 'TXT', name: `${CHALLENGE_LABEL}.${hostname}`, value: token };
  if (method === 'txt') return [txt];
  if (method === 'cname') return [{ type: 'CNAME', name: hostname, value: ctx.platformHostname ?? '' }];
  const addresses = ctx.proxyAddresses.map(
    (address): DnsRecord => ({ type: isIP(address) === 6 ? 'AAAA' : 'A', name: hostname, value: address }),
  );
  return [...addresses, txt];
}

const bare = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** Codes meaning "no such record": the answer, not a failure to get one. */
const NO_RECORD = new Set<string>([dns.NODATA, dns.NOTFOUND]);

/**
 * Asks DNS for the records a method looks at, with a resolver of its own: the configured server
 * (`MARINA_DNS_RESOLVER`, host:port) or the system's, a short timeout and few tries, so that a
 * check never hangs a request.
 */
export class DnsChecker {
  private readonly resolver: dns.Resolver;

  constructor(server: string | null, timeoutMs = 2500) {
    this.resolver = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
    if (server) this.resolver.setServers([server]);
  }

  async check(hostname: string, method: DomainMethod, expected: DnsRecord[], now: Date): Promise<CheckOutcome> {
    const records: DnsRecord[] = [];
    const errors: string[] = [];
    const ask = async (type: DnsRecordType, name: string): Promise<void> => {
      try {
        for (const value of await this.lookup(type, name)) records.push({ type, name, value });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (!NO_RECORD.has(code)) errors.push(`${type} ${name}: ${describeDnsError(code, error as Error)}`);
      }
    };
    const challenge = `${CHALLENGE_LABEL}.${hostname}`;
    if (method === 'cname') await ask('CNAME', hostname);
    if (method === 'txt') await ask('TXT', challenge);
    if (method === 'apex') await Promise.all([ask('A', hostname), ask('AAAA', hostname), ask('TXT', challenge)]);
    const found: DnsFound = {
      checkedAt: now.toISOString(),
      records,
      ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
    };
    const problem = compare(method, expected, records) ?? (errors.length > 0 ? (found.error ?? null) : null);
    return { found, verified: problem === null, problem };
  }

  private async lookup(type: DnsRecordType, name: string): Promise<string[]> {
    if (type === 'CNAME') return (await this.resolver.resolveCname(name)).map(bare);
    if (type === 'TXT') return (await this.resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
    if (type === 'A') return this.resolver.resolve4(name);
    return this.resolver.resolve6(name);
  }
}

function describeDnsError(code: string, error: Error): string {
  if (code === dns.TIMEOUT) return 'the DNS server did not answer in time';
  if (code === dns.SERVFAIL) return 'the DNS server failed to answer (SERVFAIL)';
  if (code === dns.REFUSED) return 'the DNS server refused the query';
  if (code === dns.CONNREFUSED) return 'the DNS server cannot be reached';
  return error.message;
}

/** Null when what was found proves the method; else what is missing or wrong, in words. */
function compare(method: DomainMethod, expected: DnsRecord[], found: DnsRecord[]): string | null {
  const txt = expected.find((r) => r.type === 'TXT');
  const txtOk = !txt || found.some((r) => r.type === 'TXT' && r.value.trim() === txt.value);
  if (method === 'cname') {
    const target = expected[0]?.value ?? '';
    const cnames = found.filter((r) => r.type === 'CNAME');
    if (cnames.some((r) => bare(r.value) === target)) return null;
    return cnames.length === 0
      ? `No CNAME record for ${expected[0]?.name} yet.`
      : `The CNAME record points to ${cnames.map((r) => r.value).join(', ')}, not to ${target}.`;
  }
  if (method === 'txt') return txtOk ? null : `No TXT record ${txt?.name} with the expected value yet.`;
  const wanted = new Set(expected.filter((r) => r.type === 'A' || r.type === 'AAAA').map((r) => r.value));
  const addresses = found.filter((r) => r.type === 'A' || r.type === 'AAAA').map((r) => r.value);
  const stray = addresses.filter((a) => !wanted.has(a));
  const problems: string[] = [];
  if (addresses.length === 0) problems.push(`No A or AAAA record for ${expected[0]?.name} yet.`);
  else if (stray.length > 0) problems.push(`It also points to ${stray.join(', ')}, which is not the proxy.`);
  if (!txtOk) problems.push(`No TXT record ${txt?.name} with the expected value yet.`);
  return problems.length === 0 ? null : problems.join(' ');
}
