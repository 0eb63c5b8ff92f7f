import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // An invitation is a promise of membership that only the owner of the mailbox can redeem: no
  // account and no membership exist until they accept it.
  await db.schema
    .createTable('invitations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'admin', 'member')`))
    // Only the SHA-256 of the link's secret: nobody, not even a platform admin, can read a link back.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('invited_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('invited_by_label', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('mailed_at', 'timestamptz')
    .addColumn('mail_error', 'text')
    .addColumn('accepted_at', 'timestamptz')
    .addColumn('accepted_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('revoked_at', 'timestamptz')
    .addCheckConstraint('invitations_email_lowercase', sql`email = lower(email)`)
    .execute();
  await sql`create unique index invitations_pending_idx on invitations (organization_id, email)
    where accepted_at is null and revoked_at is null`.execute(db);
  await db.schema.createIndex('invitations_email_idx').on('invitations').column('email').execute();

  await db.schema.alterTable('users').addColumn('disabled_at', 'timestamptz').execute();
  // Set when the owner of the address proves it (by opening a link only they received): until then,
  // whoever knows the password may not be that person (an organization admin chose passwords
  // before), so the account joins nothing more without the mailed link.
  await db.schema.alterTable('users').addColumn('email_verified_at', 'timestamptz').execute();
  // Platform admins were created at the server's console or with the setup link.
  await sql`update users set email_verified_at = created_at where is_platform_admin`.execute(db);

  // Accounts without a password were made by an organization admin and never claimed: their
  // memberships become invitations, so that whoever holds the mailbox decides, and no other
  // organization's grant joins them silently. The links sent before were shown to the inviter:
  // none of them keeps working (an admin invites again, or a platform admin issues a link).
  await sql`
    insert into invitations (organization_id, email, role, token_hash, invited_by_label, created_at, expires_at)
    select m.organization_id, u.email, m.role, 'unusable:' || gen_random_uuid()::text,
           'migration', m.created_at, now() + interval '7 days'
    from memberships m
    join users u on u.id = m.user_id
    where u.password_hash is null and not u.is_platform_admin`.execute(db);
  await sql`delete from memberships where user_id in
    (select id from users where password_hash is null and not is_platform_admin)`.execute(db);
  await sql`update one_time_tokens set used_at = now() where purpose = 'invite' and used_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('email_verified_at').execute();
  await db.schema.alterTable('users').dropColumn('disabled_at').execute();
  await db.schema.dropTable('invitations').execute();
}
