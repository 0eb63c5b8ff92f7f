import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('destinations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // Null: a platform-wide destination, managed by platform admins and usable by every organization.
    .addColumn('organization_id', 'uuid', (c) => c.references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('s3', 'sftp')`))
    // What may be shown: endpoint, bucket, host, user, folder, the pinned host key fingerprint.
    .addColumn('settings', 'jsonb', (c) => c.notNull())
    // Keys, passwords and the encryption passphrase, sealed with Marina's secret key; never shown.
    .addColumn('secrets', 'text', (c) => c.notNull())
    .addColumn('encrypted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index destinations_name_idx on destinations (coalesce(organization_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name))`.execute(
    db,
  );

  await db.schema
    .createTable('backup_copies')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('backup_id', 'uuid', (c) => c.notNull().references('backups.id').onDelete('cascade'))
    .addColumn('destination_id', 'uuid', (c) => c.notNull().references('destinations.id').onDelete('restrict'))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'uploading', 'verified', 'failed', 'deleted')`),
    )
    .addColumn('remote_key', 'text', (c) => c.notNull())
    .addColumn('encrypted', 'boolean', (c) => c.notNull().defaultTo(false))
    // Of the stored object (after encryption when encrypted): what the read-back is checked against.
    .addColumn('size_bytes', 'bigint')
    .addColumn('sha256', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('verified_at', 'timestamptz')
    // "verified" always comes with what was verified.
    .addCheckConstraint(
      'backup_copies_verified_has_checksum',
      sql`status <> 'verified' or (sha256 is not null and size_bytes is not null and verified_at is not null)`,
    )
    .addUniqueConstraint('backup_copies_once', ['backup_id', 'destination_id'])
    .execute();
  await db.schema.createIndex('backup_copies_destination_idx').on('backup_copies').column('destination_id').execute();

  await db.schema
    .alterTable('backups')
    // The file on Marina's disk: retention may remove it while verified offsite copies remain.
    .addColumn('local_status', 'text', (c) =>
      c.notNull().defaultTo('present').check(sql`local_status in ('present', 'deleted')`),
    )
    .addColumn('verification', 'jsonb')
    .execute();

  await db.schema
    .createTable('schedules')
    .addColumn('instance_id', 'uuid', (c) => c.primaryKey().references('instances.id').onDelete('cascade'))
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    // ScheduleSpec: daily/weekly/monthly at a time in a time zone, or cron.
    .addColumn('spec', 'jsonb', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('full', 'database', 'filestore')`))
    .addColumn('format', 'text', (c) => c.notNull().check(sql`format in ('zip', 'native')`))
    .addColumn('destination_ids', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    // { local: RetentionPolicy, destinations: { [id]: RetentionPolicy } }
    .addColumn('retention', 'jsonb', (c) => c.notNull())
    .addColumn('verify_every_days', 'integer')
    .addColumn('next_run_at', 'timestamptz')
    .addColumn('last_run_at', 'timestamptz')
    .addColumn('last_operation_id', 'uuid', (c) => c.references('operations.id').onDelete('set null'))
    .addColumn('last_verified_at', 'timestamptz')
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('schedules_due_idx').on('schedules').columns(['enabled', 'next_run_at']).execute();

  // Platform settings such as SMTP: one row per key; secret parts are sealed inside the value.
  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(): Promise<void> {
  throw new Error("Marina migrations are forward-only; restore a backup of Marina's database to go back.");
}
