import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Four roles (src/platform/permissions.ts says what each may do); yesterday's `member` could only
  // look, which is what `viewer` means now.
  for (const table of ['memberships', 'invitations']) {
    await sql`alter table ${sql.table(table)} drop constraint ${sql.ref(`${table}_role_check`)}`.execute(db);
    await sql`update ${sql.table(table)} set role = 'viewer' where role = 'member'`.execute(db);
    await sql`alter table ${sql.table(table)} add constraint ${sql.ref(`${table}_role_check`)}
      check (role in ('owner', 'admin', 'developer', 'viewer'))`.execute(db);
  }

  // Password reset links are one-time tokens too.
  await sql`alter table one_time_tokens drop constraint one_time_tokens_purpose_check`.execute(db);
  await sql`alter table one_time_tokens add constraint one_time_tokens_purpose_check
    check (purpose in ('setup', 'invite', 'reset'))`.execute(db);

  // A platform admin's read-only session "opened as" one organization (support), ended with it.
  await db.schema
    .alterTable('sessions')
    .addColumn('impersonating_organization_id', 'uuid', (c) => c.references('organizations.id').onDelete('cascade'))
    .execute();

  // Requests of the public forms (sign-up, password reset), counted for their rate limits.
  await db.schema
    .createTable('public_attempts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('signup', 'reset')`))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_domain', 'text', (c) => c.notNull())
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('public_attempts_email_idx')
    .on('public_attempts')
    .columns(['kind', 'email', 'at'])
    .execute();
  await db.schema
    .createIndex('public_attempts_domain_idx')
    .on('public_attempts')
    .columns(['kind', 'email_domain', 'at'])
    .execute();
  await db.schema.createIndex('public_attempts_ip_idx').on('public_attempts').columns(['kind', 'ip', 'at']).execute();
  await db.schema.createIndex('public_attempts_at_idx').on('public_attempts').column('at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('public_attempts').execute();
  await db.schema.alterTable('sessions').dropColumn('impersonating_organization_id').execute();
}
