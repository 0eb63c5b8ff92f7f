import type { Db } from '../../db/database.js';

export interface EdgeRoute {
  instanceId: string;
  /** The instance's address on the edge's loopback range, where the proxy's server for it listens. */
  edgeIp: string;
}

/** A host name as the proxy and DNS give it: lower case, without a trailing dot. */
export function normalizeHost(hostname: string): string {
  return hostname.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * Which instance a host name reaches, on any host (the proxy dials a cluster node's published
 * ports): the platform name of an existing instance, or a custom
 * domain whose ownership is verified. Read from the database at each question (an indexed look-up),
 * so a domain verified or removed is routed, or not, at once, with nothing to invalidate.
 */
export class RouteTable {
  constructor(private readonly db: Db) {}

  async lookup(hostname: string): Promise<EdgeRoute | null> {
    const host = normalizeHost(hostname);
    if (host === '' || host.length > 253) return null;
    const platform = await this.db
      .selectFrom('instances')
      .select(['id', 'edge_ip'])
      .where('hostname', '=', host)
      .where('edge_ip', 'is not', null)
      .executeTakeFirst();
    if (platform?.edge_ip) return { instanceId: platform.id, edgeIp: platform.edge_ip };
    const custom = await this.db
      .selectFrom('domains')
      .innerJoin('instances', 'instances.id', 'domains.instance_id')
      .select(['instances.id', 'instances.edge_ip'])
      .where('domains.hostname', '=', host)
      .where('domains.status', '=', 'verified')
      .where('instances.edge_ip', 'is not', null)
      .executeTakeFirst();
    return custom?.edge_ip ? { instanceId: custom.id, edgeIp: custom.edge_ip } : null;
  }
}
