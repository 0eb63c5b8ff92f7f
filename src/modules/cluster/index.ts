import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { HostService } from '../hosts/hosts.js';
import { type NodeChange, NodeFollower } from './follower.js';
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
  /** Called with each node every round (the instances' status tracker follows its events). */
  onNode?: (hostId: string) => void;
  /** A node's Swarm state changed (its instances become unavailable, or are listed again). */
  onChange?: (change: NodeChange) => void;
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
  onNode,
  onChange,
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
  return {
    nodes,
    nodeFollower: new NodeFollower({ db, clock, logger, nodes, intervalMs: config.followMs, onNode, onChange }),
  };
}
