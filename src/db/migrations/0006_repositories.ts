import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('repositories')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    // The folder under /mnt/extra-addons/ in every instance of the project.
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    // The branch of instances that have none of their own.
    .addColumn('branch', 'text', (c) => c.notNull())
    .addColumn('subfolder', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('submodules', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('auto_restart', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('auto_upgrade', 'boolean', (c) => c.notNull().defaultTo(true))
    // Sealed with Marina's secret key; the public half is shown to be added as a deploy key.
    .addColumn('deploy_private_key', 'text', (c) => c.notNull())
    .addColumn('deploy_public_key', 'text', (c) => c.notNull())
    // known_hosts lines pinned when the repository was added (ssh URLs only).
    .addColumn('known_hosts', 'text')
    // The push hook: looked up by the token's SHA-256; token and secret sealed, shown to admins.
    .addColumn('hook_token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('hook_token', 'text', (c) => c.notNull())
    .addColumn('hook_secret', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('repositories_project_name', ['project_id', 'name'])
    .execute();
  await db.schema.createIndex('repositories_organization_idx').on('repositories').column('organization_id').execute();

  await db.schema
    .createTable('repository_checkouts')
    .addColumn('repository_id', 'uuid', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('instance_id', 'uuid', (c) => c.notNull().references('instances.id').onDelete('cascade'))
    .addColumn('branch', 'text', (c) => c.notNull())
    // What the folder holds: null until the first clone succeeded.
    .addColumn('commit', 'text')
    .addColumn('previous_commit', 'text')
    // Per addon, the checksum of its files at `commit`: what the next update compares with.
    .addColumn('checksums', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    // addons_path entries relative to the mounted folder ('.' is the folder itself).
    .addColumn('addons_paths', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('root_is_addon', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'ready', 'failed')`),
    )
    .addColumn('error', 'text')
    .addColumn('last_operation_id', 'uuid', (c) => c.references('operations.id').onDelete('set null'))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('repository_checkouts_pk', ['repository_id', 'instance_id'])
    .execute();
  await db.schema
    .createIndex('repository_checkouts_instance_idx')
    .on('repository_checkouts')
    .column('instance_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('repository_checkouts').execute();
  await db.schema.dropTable('repositories').execute();
}
