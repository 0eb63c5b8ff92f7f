import type { ColumnType, Generated } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A nullable column that may be left out of an insert. */
type Optional<T> = ColumnType<T | null, T | null | undefined, T | null>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;

/** What a new customer's first instance is made with (0024). */
export interface OdooTemplatesTable {
  id: Generated<string>;
  slug: string;
  name: string;
  description: Defaulted<string>;
  odoo_version: string;
  /** Technical module names (`/^[a-z0-9_]+$/`), installed with base. */
  modules: ColumnType<string[], string[] | undefined, string[]>;
  language: Defaulted<string>;
  /** ISO 3166-1 alpha-2, or null for Odoo's default. */
  country: Optional<string>;
  /** The company is named after the organization. */
  company_name_from_org: Defaulted<boolean>;
  demo: Defaulted<boolean>;
  /** Shown on the sign-up page. */
  public: Defaulted<boolean>;
  /** sha256 of the recipe: what prepared template databases (#18) will be keyed by. */
  content_hash: string;
  sort: Defaulted<number>;
  archived_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type SignupStatus = 'draft' | 'pending' | 'replaced' | 'expired' | 'provisioning' | 'done' | 'failed';

/** A stranger's request for an organization and its first instance, until the email is verified (0024). */
export interface SignupsTable {
  id: Generated<string>;
  email: string;
  email_domain: string;
  /** argon2id, hashed when asked; null for a sign-up through an external provider. */
  password_hash: Optional<string>;
  oidc_provider_id: Optional<string>;
  oidc_subject: Optional<string>;
  organization_name: string;
  subdomain: string;
  plan_id: string;
  template_id: Optional<string>;
  locale: Defaulted<string>;
  ip: Optional<string>;
  /** sha256 of the emailed token; null for drafts waiting for a provider. */
  token_hash: Optional<string>;
  created_at: CreatedAt;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  status: Defaulted<SignupStatus>;
  verified_at: NullableTimestamp;
  user_id: Optional<string>;
  organization_id: Optional<string>;
  instance_id: Optional<string>;
  operation_id: Optional<string>;
  error: Optional<string>;
}

export type CredentialLinkPurpose = 'signup' | 'send_access';

/** A one-time link to an instance's Odoo admin credentials, for one user (0024). */
export interface CredentialLinksTable {
  id: Generated<string>;
  token_hash: string;
  instance_id: string;
  user_id: string;
  purpose: CredentialLinkPurpose;
  created_at: CreatedAt;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  used_at: NullableTimestamp;
}

/** A deleted instance's platform hostname, never given again (0025). */
export interface ReleasedHostnamesTable {
  hostname: string;
  released_at: CreatedAt;
}

export interface SignupTables {
  odoo_templates: OdooTemplatesTable;
  signups: SignupsTable;
  credential_links: CredentialLinksTable;
  released_hostnames: ReleasedHostnamesTable;
}
