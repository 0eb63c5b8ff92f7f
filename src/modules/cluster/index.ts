import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { HostService } from '../hosts/hosts.js';
import { NodeFollower } from './follower.js';
import { NodeService, type SwarmFactory } from './nodes.js';

export { nodeRoutes } from './routes.js';

export interface ClusterModuleDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  box: SecretBox;
  audit: AuditService;
  hosts: HostService;
  config: { heartbeatSeconds: number; followMs: number };
  swarm?: SwarmFactory;
}

export interface ClusterModule {
  nodes: NodeService;
  nodeFollower: NodeFollower;
}

/** The hosts of the cluster as Docker Swarm nodes, and Marina following their state. */
export function createClusterModule({
  db,
  clock,
  logger,
  box,
  audit,
  hosts,
  config,
  swarm,
}: ClusterModuleDeps): ClusterModule {
  const nodes = new NodeService({
    db,
    clock,
    logger,
    box,
    audit,
    hosts,
    heartbeatSeconds: config.heartbeatSeconds,
    swarm,
  });
  return { nodes, nodeFollower: new NodeFollower({ db, clock, logger, nodes, intervalMs: config.followMs }) };
}
