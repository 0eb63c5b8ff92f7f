import type { ColumnType, Generated } from 'kysely';
import type { CreatedAt, NullableTimestamp, Timestamp } from './schema.js';

/** The tables of the edge (issue #21): custom domains, instances' access, outgoing mail and the mail catcher. */

/** Access to a non-production instance through the edge (the password is sealed). */
export type InstanceProtection =
  | { kind: 'basic'; username: string; password: string; hash?: string }
  | { kind: 'allow'; addresses: string[] };

export type DomainMethod = 'cname' | 'txt' | 'apex';
export type DomainStatus = 'pending' | 'verified' | 'failed';
export interface DomainCertificateState {
  issuer?: string;
  subject?: string;
  notAfter?: string;
  checkedAt: string;
  error?: string;
}

export interface DomainsTable {
  id: Generated<string>;
  organization_id: string;
  instance_id: string;
  hostname: string;
  method: DomainMethod;
  token: string;
  status: ColumnType<DomainStatus, DomainStatus | undefined, DomainStatus>;
  is_primary: ColumnType<boolean, boolean | undefined, boolean>;
  last_check_at: NullableTimestamp;
  next_check_at: NullableTimestamp;
  check_count: ColumnType<number, number | undefined, number>;
  found: ColumnType<unknown, unknown, unknown>;
  expected: ColumnType<unknown, unknown, unknown>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  verified_at: NullableTimestamp;
  certificate_pem: ColumnType<string | null, string | null | undefined, string | null>;
  certificate_key: ColumnType<string | null, string | null | undefined, string | null>;
  certificate_state: ColumnType<
    DomainCertificateState | null,
    DomainCertificateState | null | undefined,
    DomainCertificateState | null
  >;
  created_at: CreatedAt;
}

export type MailMode = 'platform' | 'own' | 'catcher';

/** How an instance's Odoo sends mail (src/modules/mail); the id is the instance's. */
export interface InstanceMailServersTable {
  id: string;
  organization_id: string;
  mode: MailMode;
  own_host: string | null;
  own_port: number | null;
  own_security: string | null;
  own_username: string | null;
  own_password: string | null;
  catcher_username: string | null;
  catcher_password: string | null;
  updated_at: Timestamp;
}

/** One message the mail catcher received; the raw message is a file (src/modules/mail/store.ts). */
export interface CaughtMailsTable {
  id: Generated<string>;
  /** Arrival order (bigint, read as text by pg). */
  seq: ColumnType<string, never, never>;
  instance_id: string;
  organization_id: string;
  received_at: Timestamp;
  envelope_from: string | null;
  envelope_to: ColumnType<string[], string, string>;
  subject: ColumnType<string, string | undefined, string>;
  from_header: ColumnType<string, string | undefined, string>;
  to_header: ColumnType<string, string | undefined, string>;
  size_bytes: number;
  has_html: ColumnType<boolean, boolean | undefined, boolean>;
  attachment_count: ColumnType<number, number | undefined, number>;
}

/** The wildcard certificate Marina obtains through DNS-01 (src/modules/edge/wildcard/); keys sealed. */
export interface EdgeWildcardCertificatesTable {
  id: Generated<string>;
  domain: string;
  acme_directory: string | null;
  account_key: string | null;
  account_url: string | null;
  certificate_pem: string | null;
  certificate_key: string | null;
  not_after: NullableTimestamp;
  obtained_at: NullableTimestamp;
  last_error: string | null;
  last_attempt_at: NullableTimestamp;
  failures: ColumnType<number, number | undefined, number>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
