import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Stage } from '../../db/schema.js';
import { MarinaError } from '../../platform/errors.js';
import { LOCAL_HOST_ID } from '../hosts/hosts.js';
import { subscriptionOf } from '../plans/gate.js';
import { choosePlacement, type PlacedInstance, type PlacementResult } from './placement.js';

const MB = 1024 * 1024;

export interface PlacementAsk {
  organizationId: string;
  stage: Stage;
  memoryMb: number;
  cpus: number;
  /** The organization's plan when not given (undefined); null: no plan. */
  plan?: string | null;
  /** Only these hosts may take it (a move: every node but its own, or the one asked for). */
  candidates?: (hostId: string) => boolean;
  /** Instances already on their way to a node (the moves of a drain queued before this one). */
  pending?: PlacedInstance[];
}

/** The cluster's nodes and what their instances are guaranteed, weighed for one request (placement.ts). */
export async function weighPlacement(db: Db, ask: PlacementAsk): Promise<PlacementResult> {
  const all = await db.selectFrom('hosts').selectAll().where('role', 'in', ['manager', 'worker']).execute();
  const hosts = ask.candidates ? all.filter((h) => ask.candidates?.(h.id)) : all;
  const instances =
    hosts.length === 0
      ? []
      : await db
          .selectFrom('instances')
          .select(['host_id', 'organization_id', 'stage', 'memory_mb', 'cpus'])
          .where(
            'host_id',
            'in',
            hosts.map((h) => h.id),
          )
          .where('status', '!=', 'deleting')
          .execute();
  const plan = ask.plan !== undefined ? ask.plan : ((await subscriptionOf(db, ask.organizationId))?.plan.slug ?? null);
  return choosePlacement(
    hosts.map((h) => ({
      hostId: h.id,
      name: h.name,
      nodeState: h.node_state ?? 'unknown',
      availability: h.availability ?? 'active',
      cpus: h.cpus ?? 0,
      memoryBytes: Number(h.memory_bytes ?? 0),
      dedicatedTo: h.dedicated_to,
    })),
    [
      ...instances.map((i) => ({
        hostId: i.host_id,
        organizationId: i.organization_id,
        stage: i.stage,
        memoryBytes: i.memory_mb * MB,
        nanoCpus: Math.round(Number(i.cpus) * 1e9),
      })),
      ...(ask.pending ?? []),
    ],
    {
      organizationId: ask.organizationId,
      stage: ask.stage,
      memoryBytes: ask.memoryMb * MB,
      nanoCpus: Math.round(ask.cpus * 1e9),
      planSlug: plan,
    },
  );
}

/**
 * The host a new instance goes to, inside the transaction that records it: this machine's engine
 * while there is no cluster, else the node placement chooses. One placement at a time (a
 * transaction lock), so two creations cannot both take a node's last free memory.
 *
 * `detailed`: whether the refusal may name the nodes and why each was refused (a platform admin);
 * a tenant learns only that nothing fits now.
 */
export async function placeNewInstance(
  trx: Db,
  ask: PlacementAsk,
  detailed: boolean,
): Promise<{ hostId: string; reason: string }> {
  const cluster = await trx
    .selectFrom('hosts')
    .select('id')
    .where('role', 'in', ['manager', 'worker', 'joining'])
    .executeTakeFirst();
  if (!cluster) return { hostId: LOCAL_HOST_ID, reason: 'no cluster: this machine’s engine' };
  await sql`select pg_advisory_xact_lock(hashtextextended('marina.placement', 0))`.execute(trx);
  const result = await weighPlacement(trx, ask);
  if (result.ok) return { hostId: result.hostId, reason: result.reason };
  throw new MarinaError(
    'MARINA_E_NO_PLACEMENT',
    detailed
      ? result.message
      : 'No server of the platform has room for this instance now. Try a smaller size, or ask the platform’s operators.',
  );
}
