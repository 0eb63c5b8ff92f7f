import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('hosts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('docker_host', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('unknown'))
    .addColumn('state_message', 'text')
    .addColumn('engine_version', 'text')
    .addColumn('os', 'text')
    .addColumn('cpus', 'integer')
    .addColumn('memory_bytes', 'bigint')
    .addColumn('checked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('database_servers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('managed', 'external')`))
    .addColumn('host_id', 'text', (c) => c.references('hosts.id'))
    .addColumn('image', 'text')
    .addColumn('container_name', 'text')
    .addColumn('volume_name', 'text')
    .addColumn('network', 'text')
    .addColumn('internal_host', 'text', (c) => c.notNull())
    .addColumn('internal_port', 'integer', (c) => c.notNull())
    .addColumn('superuser', 'text', (c) => c.notNull())
    .addColumn('superuser_password', 'text', (c) => c.notNull())
    .addColumn('external_url', 'text')
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('creating'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('projects')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('odoo_version', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('projects_org_name_key', ['organization_id', 'name'])
    .execute();

  await db.schema
    .createTable('instances')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('restrict'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull().check(sql`stage in ('production', 'staging', 'development')`))
    .addColumn('odoo_version', 'text', (c) => c.notNull())
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id'))
    .addColumn('database_server_id', 'uuid', (c) => c.references('database_servers.id'))
    .addColumn('db_name', 'text', (c) => c.notNull().unique())
    .addColumn('db_password', 'text', (c) => c.notNull())
    .addColumn('master_password', 'text', (c) => c.notNull())
    .addColumn('admin_login', 'text', (c) => c.notNull())
    .addColumn('admin_password', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('country', 'text')
    .addColumn('cpus', 'real', (c) => c.notNull())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('container_name', 'text', (c) => c.notNull().unique())
    .addColumn('volume_name', 'text', (c) => c.notNull().unique())
    .addColumn('container_id', 'text')
    .addColumn('http_port', 'integer')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_detail', 'text')
    .addColumn('health', 'text')
    .addColumn('started_at', 'timestamptz')
    .addColumn('status_changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('instances_project_name_key', ['project_id', 'name'])
    .execute();
  await db.schema.createIndex('instances_org_idx').on('instances').column('organization_id').execute();
  // Two instances may not publish the same port on one host.
  await db.schema
    .createIndex('instances_host_port_key')
    .on('instances')
    .columns(['host_id', 'http_port'])
    .unique()
    .execute();
}

export async function down(): Promise<void> {
  throw new Error("Marina migrations are forward-only; restore a backup of Marina's database to go back.");
}
