import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // What a new customer's first instance is made with: shown on the sign-up page.
  await db.schema
    .createTable('odoo_templates')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('odoo_version', 'text', (c) => c.notNull())
    .addColumn('modules', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('language', 'text', (c) => c.notNull().defaultTo('en_US'))
    .addColumn('country', 'text')
    .addColumn('company_name_from_org', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('demo', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('public', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('sort', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('archived_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .alterTable('instances')
    .addColumn('template_id', 'uuid', (c) => c.references('odoo_templates.id').onDelete('set null'))
    .execute();

  // Nothing is made before the email is verified: the request waits here with its hashed token.
  await db.schema
    .createTable('signups')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_domain', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('oidc_provider_id', 'uuid', (c) => c.references('oidc_providers.id').onDelete('set null'))
    .addColumn('oidc_subject', 'text')
    .addColumn('organization_name', 'text', (c) => c.notNull())
    .addColumn('subdomain', 'text', (c) => c.notNull())
    .addColumn('plan_id', 'uuid', (c) => c.notNull().references('plans.id'))
    .addColumn('template_id', 'uuid', (c) => c.references('odoo_templates.id').onDelete('set null'))
    .addColumn('locale', 'text', (c) => c.notNull().defaultTo('en'))
    .addColumn('ip', 'text')
    .addColumn('token_hash', 'text', (c) => c.unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status IN ('draft', 'pending', 'replaced', 'expired', 'provisioning', 'done', 'failed')`),
    )
    .addColumn('verified_at', 'timestamptz')
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('organization_id', 'uuid', (c) => c.references('organizations.id').onDelete('set null'))
    .addColumn('instance_id', 'uuid', (c) => c.references('instances.id').onDelete('set null'))
    .addColumn('operation_id', 'uuid')
    .addColumn('error', 'text')
    .execute();
  // One pending sign-up per email; a subdomain is held by one request until it is made or dropped.
  await sql`CREATE UNIQUE INDEX signups_pending_email ON signups (lower(email)) WHERE status = 'pending'`.execute(db);
  await sql`CREATE UNIQUE INDEX signups_held_subdomain ON signups (subdomain) WHERE status IN ('pending', 'provisioning')`.execute(
    db,
  );
  await db.schema.createIndex('signups_status').on('signups').columns(['status', 'expires_at']).execute();

  // A sign-up through a provider: the draft rides along the trip and is completed on the way back.
  await db.schema
    .alterTable('oidc_logins')
    .addColumn('signup_id', 'uuid', (c) => c.references('signups.id').onDelete('cascade'))
    .execute();

  // A one-time link to an instance's Odoo admin credentials: the link is the permission, for one user.
  await db.schema
    .createTable('credential_links')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('instance_id', 'uuid', (c) => c.notNull().references('instances.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('purpose', 'text', (c) => c.notNull().check(sql`purpose IN ('signup', 'send_access')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();
}
