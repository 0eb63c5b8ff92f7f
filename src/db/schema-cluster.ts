import type { ColumnType } from 'kysely';
import type { CreatedAt, NullableTimestamp } from './schema.js';

export type HostState = 'unknown' | 'reachable' | 'unreachable';

export interface HostsTable {
  id: string;
  name: string;
  docker_host: string;
  state: ColumnType<HostState, HostState | undefined, HostState>;
  state_message: string | null;
  engine_version: string | null;
  os: string | null;
  cpus: number | null;
  memory_bytes: ColumnType<string | null, number | string | null, number | string | null>;
  checked_at: NullableTimestamp;
  created_at: CreatedAt;
  /** `standalone`: the engine Marina started on, outside the cluster (0033). */
  role: ColumnType<HostRole, HostRole | undefined, HostRole>;
  /** The node's address in the cluster (Swarm's advertise address). */
  address: string | null;
  /** Sealed JSON of how Marina reaches the engine: TLS ({ ca, cert, key }) or SSH ({ privateKey, hostKeyFingerprint }). */
  tls: string | null;
  swarm_node_id: string | null;
  node_state: NodeState | null;
  availability: NodeAvailability | null;
  manager_reachability: string | null;
  node_state_since: NullableTimestamp;
  /** Plan slugs this node is kept for (empty: shared). */
  dedicated_to: ColumnType<string[], string[] | undefined, string[]>;
}

export type HostRole = 'standalone' | 'joining' | 'manager' | 'worker' | 'leaving';
export type NodeState = 'ready' | 'down' | 'unknown' | 'disconnected';
export type NodeAvailability = 'active' | 'pause' | 'drain';
