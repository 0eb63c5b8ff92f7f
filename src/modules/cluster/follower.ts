import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { NodeState } from '../../db/schema.js';
import type { Clock } from '../../platform/clock.js';
import { RoundTicker } from '../../platform/round-ticker.js';
import type { SwarmNode } from '../../runtime/docker/swarm.js';
import type { NodeService } from './nodes.js';

export interface NodeChange {
  hostId: string;
  from: NodeState | null;
  to: NodeState;
}

/**
 * Follows the nodes' state as Swarm's managers see it (ready, down, drained), one round every
 * `intervalMs`: a manager answers for the whole cluster, so the cost does not grow with the nodes.
 * When no manager answers, the state of every node is unknown, and is recorded as such.
 */
export class NodeFollower {
  private readonly ticker: RoundTicker;

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      logger: Logger;
      nodes: NodeService;
      intervalMs: number;
      onChange?: (change: NodeChange) => void;
      /** Each node of the cluster, every round: whoever follows what runs on it starts to (once). */
      onNode?: (hostId: string) => void;
    },
  ) {
    this.ticker = new RoundTicker(() => this.round().then(() => undefined), {
      intervalMs: deps.intervalMs,
      logger: deps.logger,
      failure: 'following the cluster nodes failed',
    });
  }

  start(): void {
    this.ticker.start();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  /** One reading of every node; the changes it recorded. */
  async round(): Promise<NodeChange[]> {
    const hosts = (await this.deps.nodes.clusterHosts()).filter((h) => h.role === 'manager' || h.role === 'worker');
    if (hosts.length === 0) return [];
    const leader = await this.deps.nodes.manager();
    let seen: Map<string, SwarmNode>;
    try {
      seen = new Map(leader ? (await leader.engine.nodes()).map((n) => [n.id, n]) : []);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'a manager did not list the nodes');
      seen = new Map();
    }
    const now = this.deps.clock.now();
    const changes: NodeChange[] = [];
    for (const host of hosts) {
      this.deps.onNode?.(host.id);
      const node = host.swarm_node_id ? seen.get(host.swarm_node_id) : undefined;
      // Listed by no manager: not known to the swarm that answers, or no manager answers at all.
      const state: NodeState = node?.state ?? 'unknown';
      const update = {
        node_state: state,
        availability: node?.availability ?? host.availability,
        manager_reachability: node?.managerReachability ?? null,
        role: node?.role ?? host.role,
        ...(state !== host.node_state ? { node_state_since: now } : {}),
      };
      await this.deps.db.updateTable('hosts').set(update).where('id', '=', host.id).execute();
      if (state !== host.node_state) {
        const change = { hostId: host.id, from: host.node_state, to: state };
        changes.push(change);
        this.deps.logger.info(change, `node ${host.name} is ${state}`);
        this.deps.onChange?.(change);
      }
    }
    return changes;
  }
}
