import type { ExpressionBuilder } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import { LOCAL_HOST_ID } from '../hosts/hosts.js';

export interface EdgeRoute {
  instanceId: string;
  /** The instance's address on the edge's loopback range, where the proxy's server for it listens. */
  edgeIp: string;
}

/** A host name as the proxy and DNS give it: lower case, without a trailing dot. */
export function normalizeHost(hostname: string): string {
  return hostname.trim().toLowerCase().replace(/\.$/, '');
}

/** Host roles whose instances the proxy reaches: at the node's address, on the ports published there. */
export const ROUTED_NODE_ROLES = ['manager', 'worker', 'leaving'] as const;

/**
 * Hosts the proxy reaches: this machine's engine, and the cluster's nodes (their published ports, at
 * the address each was added with). Any other host's ports are not reachable from here, and a port of
 * this machine's loopback with that number may be another tenant's instance.
 */
function routedHost(eb: ExpressionBuilder<Database, 'hosts'>) {
  return eb.or([
    eb('hosts.id', '=', LOCAL_HOST_ID),
    eb.and([eb('hosts.role', 'in', ROUTED_NODE_ROLES), eb('hosts.address', 'is not', null)]),
  ]);
}

/**
 * Which instance a host name reaches: the platform name of an existing instance, or a custom domain
 * whose ownership is verified, on a host the proxy reaches. Read from the database at each question
 * (an indexed look-up), so a domain verified or removed is routed, or not, at once, with nothing to
 * invalidate.
 */
export class RouteTable {
  constructor(private readonly db: Db) {}

  async lookup(hostname: string): Promise<EdgeRoute | null> {
    const host = normalizeHost(hostname);
    if (host === '' || host.length > 253) return null;
    const platform = await this.db
      .selectFrom('instances')
      .innerJoin('hosts', 'hosts.id', 'instances.host_id')
      .select(['instances.id', 'instances.edge_ip'])
      .where('instances.hostname', '=', host)
      .where('instances.edge_ip', 'is not', null)
      .where(routedHost)
      .executeTakeFirst();
    if (platform?.edge_ip) return { instanceId: platform.id, edgeIp: platform.edge_ip };
    const custom = await this.db
      .selectFrom('domains')
      .innerJoin('instances', 'instances.id', 'domains.instance_id')
      .innerJoin('hosts', 'hosts.id', 'instances.host_id')
      .select(['instances.id', 'instances.edge_ip'])
      .where('domains.hostname', '=', host)
      .where('domains.status', '=', 'verified')
      .where('instances.edge_ip', 'is not', null)
      .where(routedHost)
      .executeTakeFirst();
    return custom?.edge_ip ? { instanceId: custom.id, edgeIp: custom.edge_ip } : null;
  }
}
