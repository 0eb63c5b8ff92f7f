import type { Updateable } from 'kysely';
import type { Db } from '../../../db/database.js';
import type { EdgeWildcardCertificatesTable } from '../../../db/schema.js';
import { sealedAt } from '../../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../../platform/secrets/secret-box.js';

/** The wildcard's row (one per base domain) and its sealed keys. */

const keyAt = (id: string) => sealedAt('edge_wildcard_certificates', 'certificate_key', id);
const accountKeyAt = (id: string) => sealedAt('edge_wildcard_certificates', 'account_key', id);

export interface WildcardRecord {
  id: string;
  acmeDirectory: string | null;
  /** The account key, opened; null until the first order. */
  accountKey: string | null;
  accountUrl: string | null;
  certificatePem: string | null;
  notAfter: Date | null;
  obtainedAt: Date | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  failures: number;
}

export class WildcardStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly domain: string,
  ) {}

  /** The domain's row, made empty the first time. */
  async record(): Promise<WildcardRecord> {
    await this.db
      .insertInto('edge_wildcard_certificates')
      .values({ domain: this.domain })
      .onConflict((c) => c.column('domain').doNothing())
      .execute();
    const row = await this.db
      .selectFrom('edge_wildcard_certificates')
      .selectAll()
      .where('domain', '=', this.domain)
      .executeTakeFirstOrThrow();
    return {
      id: row.id,
      acmeDirectory: row.acme_directory,
      accountKey: row.account_key === null ? null : this.box.open(row.account_key, accountKeyAt(row.id)),
      accountUrl: row.account_url,
      certificatePem: row.certificate_pem,
      notAfter: row.not_after,
      obtainedAt: row.obtained_at,
      lastError: row.last_error,
      lastAttemptAt: row.last_attempt_at,
      failures: row.failures,
    };
  }

  async saveAccount(id: string, directory: string, key: string, url: string | null): Promise<void> {
    await this.update(id, {
      acme_directory: directory,
      account_key: this.box.seal(key, accountKeyAt(id)),
      account_url: url,
    });
  }

  async saveCertificate(id: string, certificatePem: string, keyPem: string, notAfter: Date, at: Date): Promise<void> {
    await this.update(id, {
      certificate_pem: certificatePem,
      certificate_key: this.box.seal(keyPem, keyAt(id)),
      not_after: notAfter,
      obtained_at: at,
      last_attempt_at: at,
      last_error: null,
      failures: 0,
    });
  }

  /** A failed attempt: the certificate (if any) stays, the error is kept until one succeeds. */
  async saveFailure(id: string, error: string, at: Date, failures: number): Promise<void> {
    await this.update(id, { last_error: error.slice(0, 2_000), last_attempt_at: at, failures });
  }

  private async update(id: string, values: Updateable<EdgeWildcardCertificatesTable>): Promise<void> {
    await this.db
      .updateTable('edge_wildcard_certificates')
      .set({ ...values, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  }
}

/** The certificate the proxy serves for `*.<domain>`, key opened; undefined before the first one. */
export async function servedWildcard(
  db: Db,
  box: SecretBox,
  domain: string,
): Promise<{ certificatePem: string; keyPem: string } | undefined> {
  const row = await db
    .selectFrom('edge_wildcard_certificates')
    .select(['id', 'certificate_pem', 'certificate_key'])
    .where('domain', '=', domain)
    .executeTakeFirst();
  if (!row?.certificate_pem || !row.certificate_key) return undefined;
  return { certificatePem: row.certificate_pem, keyPem: box.open(row.certificate_key, keyAt(row.id)) };
}
