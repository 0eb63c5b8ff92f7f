import type { ColumnType, Generated } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;

/** An external sign-in provider (OpenID Connect, 0023). `client_secret` is sealed to its row. */
export interface OidcProvidersTable {
  id: Generated<string>;
  slug: string;
  name: string;
  issuer: string;
  client_id: string;
  client_secret: string;
  scopes: Defaulted<string>;
  allow_signup: Defaulted<boolean>;
  enabled: Defaulted<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type OidcPurpose = 'signin' | 'signup';

/** One browser's trip to a provider and back (0023); single use, ten minutes. */
export interface OidcLoginsTable {
  id: Generated<string>;
  /** sha256 of the `marina_oidc` cookie's value. */
  browser_hash: string;
  state_hash: string;
  nonce: string;
  code_verifier: string;
  provider_id: string;
  purpose: OidcPurpose;
  /** The draft sign-up this trip completes (purpose signup, 0024). */
  signup_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  expires_at: Date;
  used_at: NullableTimestamp;
}

/** An account's identity at a provider (0023): (provider, subject) signs in. */
export interface UserIdentitiesTable {
  id: Generated<string>;
  user_id: string;
  provider_id: string;
  subject: string;
  /** The provider's verified email when it was linked. */
  email: string;
  linked_at: CreatedAt;
}

export interface OidcTables {
  oidc_providers: OidcProvidersTable;
  oidc_logins: OidcLoginsTable;
  user_identities: UserIdentitiesTable;
}
