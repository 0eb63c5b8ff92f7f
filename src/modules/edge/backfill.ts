import type { Logger } from 'pino';
import type { EdgeConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import { workerSettings } from '../../odoo/sizing.js';
import type { InstanceService } from '../instances/service.js';
import { allocateEdgeIdentity } from './allocation.js';

/**
 * Instances made before the edge was turned on get their platform names, edge addresses and (with
 * workers) a gevent port now. The gevent port is published at the container's next start, whose
 * spec changes with it; until then /websocket of such an instance answers the maintenance page.
 */
export async function backfillEdgeIdentities(deps: {
  db: Db;
  edge: Pick<EdgeConfig, 'baseDomain' | 'namePattern'> & { publicUrl?: string | undefined };
  instances: Pick<InstanceService, 'freePort'>;
  logger: Logger;
}): Promise<number> {
  const { db, edge, instances, logger } = deps;
  const missing = await db
    .selectFrom('instances')
    .select([
      'id',
      'name',
      'project_id',
      'organization_id',
      'host_id',
      'http_port',
      'gevent_port',
      'cpus',
      'memory_mb',
      'hostname',
    ])
    .where((eb) => eb.or([eb('hostname', 'is', null), eb('edge_ip', 'is', null)]))
    .orderBy('created_at')
    .execute();
  for (const row of missing) {
    await db.transaction().execute(async (trx) => {
      const identity = await allocateEdgeIdentity(trx, edge, {
        instance: row.name,
        projectId: row.project_id,
        organizationId: row.organization_id,
      });
      const { workers } = workerSettings({ cpus: row.cpus, memoryMb: row.memory_mb });
      const taken = row.http_port === null ? [] : [row.http_port];
      const gevent = row.gevent_port ?? (workers > 0 ? await instances.freePort(trx, row.host_id, taken) : null);
      await trx
        .updateTable('instances')
        .set({ hostname: row.hostname ?? identity.hostname, edge_ip: identity.edge_ip, gevent_port: gevent })
        .where('id', '=', row.id)
        .execute();
    });
    logger.info({ instance: row.id }, 'edge: gave an older instance its platform name and edge address');
  }
  return missing.length;
}
