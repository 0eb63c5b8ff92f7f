import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/database.js';
import { migrations } from '../src/db/migrations/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

let database: TestDatabase | undefined;
afterEach(() => database?.drop());

describe('migrations', () => {
  it('build the schema from an empty database, and running them again changes nothing', async () => {
    database = await createTestDatabase(false);
    const applied = await migrate(database.db);
    expect(applied).toEqual(Object.keys(migrations));
    const tables = await sql<{
      tablename: string;
    }>`select tablename from pg_tables where schemaname = 'public' order by tablename`.execute(database.db);
    expect(tables.rows.map((r) => r.tablename)).toEqual([
      'alert_channels',
      'alert_deliveries',
      'alert_rules',
      'api_tokens',
      'audit_events',
      'backup_copies',
      'backups',
      'billing_anomalies',
      'billing_details',
      'billing_providers',
      'bytecode_caches',
      'caught_mails',
      'credential_links',
      'database_servers',
      'database_templates',
      'destinations',
      'domains',
      'edge_wildcard_certificates',
      'hosts',
      'incidents',
      'instance_mail_servers',
      'instance_usage',
      'instances',
      'invitations',
      'invoice_lines',
      'invoice_sequences',
      'invoices',
      'login_attempts',
      'mail_outbox',
      'mail_templates',
      'marina_migrations',
      'marina_migrations_lock',
      'memberships',
      'metric_hours',
      'metric_minutes',
      'metric_series',
      'odoo_templates',
      'oidc_logins',
      'oidc_providers',
      'one_time_tokens',
      'operation_logs',
      'operations',
      'organization_storage_hours',
      'organizations',
      'payments',
      'plan_prices',
      'plans',
      'projects',
      'provider_events',
      'public_attempts',
      'push_hook_deliveries',
      'released_hostnames',
      'repositories',
      'repository_checkouts',
      'schedules',
      'sessions',
      'settings',
      'signups',
      'subscription_events',
      'subscriptions',
      'tax_rates',
      'uptime_checks',
      'uptime_days',
      'uptime_state',
      'user_identities',
      'users',
    ]);
    expect(await migrate(database.db)).toEqual([]);
  });

  it('run safely when two Marina processes start at once', async () => {
    database = await createTestDatabase(false);
    const [a, b] = await Promise.all([migrate(database.db), migrate(database.db)]);
    expect([...a, ...b].sort()).toEqual(Object.keys(migrations).sort());
  });
});
