import { type Kysely, sql } from 'kysely';

const KINDS_BEFORE = `'instance_down', 'memory_high', 'host_disk', 'storage_quota', 'backup_stale', 'offsite_failed', 'certificate', 'job_failing'`;

/**
 * Hosts become the nodes of a Docker Swarm (issue #16). A host Marina started on stays `standalone`;
 * an added host is `joining` until the Swarm has it, then a `manager` or a `worker`. Its node's
 * state and availability are Swarm's, followed by Marina; its TLS material is sealed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table hosts
      add column role text not null default 'standalone'
        check (role in ('standalone', 'joining', 'manager', 'worker', 'leaving')),
      add column address text,
      add column tls text,
      add column swarm_node_id text unique,
      add column node_state text check (node_state in ('ready', 'down', 'unknown', 'disconnected')),
      add column availability text check (availability in ('active', 'pause', 'drain')),
      add column manager_reachability text,
      add column node_state_since timestamptz,
      add column dedicated_to text[] not null default '{}'
  `.execute(db);
  await sql`alter table incidents drop constraint incidents_kind_check`.execute(db);
  await sql
    .raw(`alter table incidents add constraint incidents_kind_check check (kind in (${KINDS_BEFORE}, 'node_down'))`)
    .execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from incidents where kind = 'node_down'`.execute(db);
  await sql`alter table incidents drop constraint incidents_kind_check`.execute(db);
  await sql
    .raw(`alter table incidents add constraint incidents_kind_check check (kind in (${KINDS_BEFORE}))`)
    .execute(db);
  await sql`
    alter table hosts
      drop column role, drop column address, drop column tls, drop column swarm_node_id, drop column node_state,
      drop column availability, drop column manager_reachability, drop column node_state_since,
      drop column dedicated_to
  `.execute(db);
}
