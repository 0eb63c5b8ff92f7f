import type { Static } from 'typebox';
import type { Domain as DomainRow, Instance } from '../../db/schema.js';
import { describeCertificate, parseChain } from './certificates.js';
import type { Domain } from './schemas.js';
import type { DomainsSettings } from './settings.js';
import { domainNameOf } from './validation.js';
import { type DnsFound, expectedRecords } from './verification.js';

export type DomainView = Static<typeof Domain>;

/** The records a domain needs now (from the instance's current platform name and the proxy's addresses). */
export const recordsFor = (
  row: Pick<DomainRow, 'hostname' | 'method' | 'token'>,
  instance: Pick<Instance, 'hostname'>,
  settings: DomainsSettings,
) =>
  expectedRecords(row.hostname, row.method, row.token, {
    platformHostname: instance.hostname,
    proxyAddresses: settings.proxyAddresses,
  });

function ownCertificate(pem: string | null) {
  if (!pem) return null;
  try {
    const [leaf] = parseChain(pem);
    return leaf ? describeCertificate(leaf) : null;
  } catch {
    return null;
  }
}

export function domainView(
  row: DomainRow,
  instance: Pick<Instance, 'hostname'>,
  settings: DomainsSettings,
): DomainView {
  return {
    id: row.id,
    instanceId: row.instance_id,
    hostname: row.hostname,
    displayName: domainNameOf(row.hostname).display,
    method: row.method,
    status: row.status,
    isPrimary: row.is_primary,
    records: recordsFor(row, instance, settings),
    found: (row.found as DnsFound | null) ?? null,
    lastError: row.last_error,
    lastCheckAt: row.last_check_at?.toISOString() ?? null,
    nextCheckAt: row.next_check_at?.toISOString() ?? null,
    verifiedAt: row.verified_at?.toISOString() ?? null,
    certificate: row.certificate_state,
    ownCertificate: ownCertificate(row.certificate_pem),
    createdAt: row.created_at.toISOString(),
  };
}
