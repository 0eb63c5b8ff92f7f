import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { Actor } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { weighPlacement } from './place.js';
import type { PlacementResult, Stage } from './placement.js';
import type { Node } from './schemas.js';

export type NodeView = Static<typeof Node>;

const MB = 1024 * 1024;

/** Every host with what its instances are guaranteed (their limits), in one query. */
async function hostRows(db: Db, id?: string) {
  let query = db
    .selectFrom('hosts as h')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('instances')
          .select((e) => [
            'host_id',
            e.fn.countAll<string>().as('instances'),
            e.fn.sum<string>('memory_mb').as('memory_mb'),
            e.fn.sum<string>('cpus').as('cpus'),
          ])
          .where('status', '!=', 'deleting')
          .groupBy('host_id')
          .as('i'),
      (join) => join.onRef('i.host_id', '=', 'h.id'),
    )
    .selectAll('h')
    .select(['i.instances', 'i.memory_mb as guaranteed_memory_mb', 'i.cpus as guaranteed_cpus'])
    .orderBy('h.name');
  if (id) query = query.where('h.id', '=', id);
  return query.execute();
}

type HostRow = Awaited<ReturnType<typeof hostRows>>[number];

const view = (h: HostRow): NodeView => ({
  id: h.id,
  name: h.name,
  dockerHost: h.docker_host,
  address: h.address,
  role: h.role,
  state: h.state,
  nodeState: h.node_state,
  nodeStateSince: h.node_state_since?.toISOString() ?? null,
  availability: h.availability,
  managerReachability: h.manager_reachability,
  engineVersion: h.engine_version,
  cpus: h.cpus,
  memoryBytes: h.memory_bytes === null ? null : Number(h.memory_bytes),
  guaranteedMemoryBytes: Number(h.guaranteed_memory_mb ?? 0) * MB,
  guaranteedCpus: Number(h.guaranteed_cpus ?? 0),
  instances: Number(h.instances ?? 0),
  dedicatedTo: h.dedicated_to,
});

export async function listNodes(db: Db, actor: Actor): Promise<NodeView[]> {
  requirePlatformAdmin(actor);
  return (await hostRows(db)).map(view);
}

export async function nodeView(db: Db, actor: Actor, id: string): Promise<NodeView> {
  requirePlatformAdmin(actor);
  const row = (await hostRows(db, id))[0];
  if (!row) throw notFound('Node');
  return view(row);
}

/** Where a new instance of this size would go now, or why it cannot (the cluster's nodes only). */
export function previewPlacement(
  db: Db,
  actor: Actor,
  request: { memoryMb: number; cpus: number; organization: string; stage: Stage; plan?: string },
): Promise<PlacementResult> {
  requirePlatformAdmin(actor);
  return weighPlacement(db, {
    organizationId: request.organization,
    stage: request.stage,
    memoryMb: request.memoryMb,
    cpus: request.cpus,
    plan: request.plan ?? null,
  });
}
