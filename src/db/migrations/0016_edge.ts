import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Every instance gets a stable name under the platform's base domain (its platform hostname) and
  // an address on the edge's loopback range (127.77.x.y) where the proxy keeps its own server for
  // it: a custom domain then needs only a lookup, never a proxy reload (src/modules/edge/).
  await db.schema
    .alterTable('instances')
    .addColumn('hostname', 'text', (c) => c.unique())
    .addColumn('edge_ip', 'text', (c) => c.unique())
    // Odoo's gevent port (8072) published on loopback for the edge, when the instance has workers.
    .addColumn('gevent_port', 'integer')
    // The hostname Odoo's web.base.url follows: the primary custom domain, else the platform name.
    .addColumn('primary_hostname', 'text')
    // Per-instance access for non-production: none, basic (a Marina-generated password) or an IP allow-list.
    .addColumn('protection', 'jsonb')
    .execute();

  await db.schema
    .createTable('domains')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('instance_id', 'uuid', (c) => c.notNull().references('instances.id').onDelete('cascade'))
    // IDNA ASCII form, lower case, no trailing dot.
    .addColumn('hostname', 'text', (c) => c.notNull())
    // cname | txt | apex — how the owner proves it (see src/modules/domains/verification.ts).
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull())
    // pending | verified | failed
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('is_primary', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('last_check_at', 'timestamptz')
    .addColumn('next_check_at', 'timestamptz')
    .addColumn('check_count', 'integer', (c) => c.notNull().defaultTo(0))
    // What DNS answered at the last check, and what was expected (shown to the user as is).
    .addColumn('found', 'jsonb')
    .addColumn('expected', 'jsonb')
    .addColumn('last_error', 'text')
    .addColumn('verified_at', 'timestamptz')
    // An organization's own certificate (PEM) and its key (sealed), when it uploaded one.
    .addColumn('certificate_pem', 'text')
    .addColumn('certificate_key', 'text')
    // What the edge serves for this name: { issuer, notAfter, subject, checkedAt, error }.
    .addColumn('certificate_state', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // One row per name and organization; only one verified row per name across organizations.
  await db.schema
    .createIndex('domains_org_hostname')
    .on('domains')
    .columns(['organization_id', 'hostname'])
    .unique()
    .execute();
  await sql`CREATE UNIQUE INDEX domains_verified_hostname ON domains (hostname) WHERE status = 'verified'`.execute(db);
  await sql`CREATE UNIQUE INDEX domains_one_primary ON domains (instance_id) WHERE is_primary`.execute(db);
  await db.schema.createIndex('domains_next_check').on('domains').column('next_check_at').execute();
}
