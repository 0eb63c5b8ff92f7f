import type { SealedAt } from './secret-box.js';

/**
 * Every column that holds a SecretBox value. A new sealed column goes here too: the re-seal of old
 * values (secret-migration.ts) walks this list, and `sealedAt` only accepts what it names.
 */
export const SEALED_COLUMNS = {
  instances: ['db_password', 'master_password', 'admin_password'],
  repositories: ['deploy_private_key', 'hook_token', 'hook_secret'],
  database_servers: ['superuser_password', 'external_url'],
  destinations: ['secrets'],
  domains: ['certificate_key'],
  instance_mail_servers: ['own_password', 'catcher_password'],
  edge_wildcard_certificates: ['account_key', 'certificate_key'],
  oidc_providers: ['client_secret'],
  alert_channels: ['secret'],
  billing_providers: ['secret'],
} as const;

export type SealedTable = keyof typeof SEALED_COLUMNS;

/** Where a sealed value lives: the associated data its ciphertext is bound to. */
export function sealedAt<T extends SealedTable>(
  table: T,
  column: (typeof SEALED_COLUMNS)[T][number],
  row: string,
): SealedAt {
  return { table, column, row };
}

/** The SMTP password: the `password` inside the jsonb value of the settings row 'smtp'. */
export const SMTP_PASSWORD_AT: SealedAt = { table: 'settings', column: 'value.password', row: 'smtp' };
