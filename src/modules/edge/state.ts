import bcrypt from 'bcryptjs';
import type { Logger } from 'pino';
import type { EdgeConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { Instance, InstanceProtection } from '../../db/schema.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { LOCAL_HOST_ID } from '../hosts/hosts.js';
import { ODOO_GEVENT_PORT, ODOO_HTTP_PORT } from '../instances/odoo-container.js';
import type { EdgeInstanceState, EdgeState } from './caddy-config.js';
import { odooLabel } from './odoo-addresses.js';
import { ROUTED_NODE_ROLES } from './route-table.js';
import { servedWildcard } from './wildcard/store.js';

export interface EdgeStateDeps {
  db: Db;
  box: SecretBox;
  logger: Logger;
  edge: EdgeConfig;
  /** Where the proxy reaches instances' published HTTP ports (MARINA_INSTANCE_BIND, or loopback). */
  upstreamHost: string;
  /** Whether an instance's ports are published (else the proxy finds its container by name). */
  publishes: (instance: Pick<Instance, 'host_id'>) => boolean;
  askUrl: string;
  dnsPort: () => number;
  /** Where owners sign in (MARINA_PUBLIC_URL), said on a suspended organization's sites. */
  signInUrl?: string;
}

const MIB = 1024 * 1024;

/** Where the domains module seals an uploaded key and a basic-auth password (see src/modules/domains/). */
const certificateKeyAt = (id: string) => ({ table: 'domains', column: 'certificate_key', row: id });
const protectionPasswordAt = (id: string) => ({ table: 'instances', column: 'protection.password', row: id });

/**
 * Reads the edge's state from Marina's database: every instance with a platform name, and the
 * certificates organizations uploaded for verified domains.
 */
export class EdgeStateReader {
  /** bcrypt hashes made here, by sealed password: the same password gives the same configuration. */
  private readonly hashes = new Map<string, string>();

  constructor(private readonly deps: EdgeStateDeps) {}

  async read(): Promise<EdgeState> {
    const { db, edge } = this.deps;
    const rows = await db
      .selectFrom('instances')
      .selectAll()
      .where('hostname', 'is not', null)
      .where('edge_ip', 'is not', null)
      .execute();
    const nodes = await this.nodeAddresses();
    const certificates = await db
      .selectFrom('domains')
      .select(['id', 'hostname', 'certificate_pem', 'certificate_key'])
      .where('status', '=', 'verified')
      .where('certificate_pem', 'is not', null)
      .where('certificate_key', 'is not', null)
      .execute();
    const suspended = await this.suspendedOrganizations();
    const admin = new URL(edge.caddyAdminUrl);
    return {
      adminListen: admin.port ? admin.host : `${admin.host}:${admin.protocol === 'https:' ? 443 : 80}`,
      httpPort: edge.httpPort,
      httpsPort: edge.httpsPort,
      dnsPort: this.deps.dnsPort(),
      askUrl: this.deps.askUrl,
      acme: { ca: edge.acme.ca, email: edge.acme.email, caRootsFile: edge.acme.caRootsFile },
      wildcard: edge.wildcardDns01 ? await this.obtainedWildcard() : edge.wildcard,
      certificates: certificates.flatMap((c) => {
        try {
          const keyPem = this.deps.box.open(c.certificate_key ?? '', certificateKeyAt(c.id));
          return [{ hostname: c.hostname, certificatePem: c.certificate_pem ?? '', keyPem }];
        } catch (error) {
          this.deps.logger.error({ err: error, domain: c.hostname }, 'edge: an uploaded certificate key does not open');
          return [];
        }
      }),
      // A published instance needs its port; an unpublished one is found by name (its port unused).
      instances: rows
        .filter((row) => row.http_port !== null || !this.deps.publishes(row))
        .filter((row) => row.host_id === LOCAL_HOST_ID || nodes.has(row.host_id))
        .map((row) => ({
          ...this.instance(row, nodes.get(row.host_id)),
          suspended: suspended.get(row.organization_id) ?? null,
        })),
      signInUrl: this.deps.signInUrl,
    };
  }

  /**
   * Organizations whose sites answer the suspended page (#19), and why: a trial that ended, or
   * anything else (an admin's suspension, unpaid) said the same way. Without a subscription: none.
   */
  private async suspendedOrganizations(): Promise<Map<string, 'trial_ended' | 'suspended'>> {
    const rows = await this.deps.db
      .selectFrom('subscriptions')
      .select(['organization_id', 'suspended_kind'])
      .where('status', 'in', ['suspended', 'cancelled'])
      .execute();
    return new Map(
      rows.map((r) => [r.organization_id, r.suspended_kind === 'trial_ended' ? 'trial_ended' : 'suspended'] as const),
    );
  }

  /** The wildcard Marina obtained through DNS-01 (none yet: every name gets its own on demand). */
  private async obtainedWildcard(): Promise<EdgeState['wildcard']> {
    try {
      return await servedWildcard(this.deps.db, this.deps.box, this.deps.edge.baseDomain);
    } catch (error) {
      this.deps.logger.error({ err: error }, 'edge: the wildcard certificate key does not open');
      return undefined;
    }
  }

  /**
   * Where the proxy reaches a cluster node's instances: their ports, published on the node, at the
   * address the node was added with (the proxy runs on Marina's host, which is on no overlay).
   */
  private async nodeAddresses(): Promise<Map<string, string>> {
    const hosts = await this.deps.db
      .selectFrom('hosts')
      .select(['id', 'address'])
      .where('role', 'in', ROUTED_NODE_ROLES)
      .where('address', 'is not', null)
      .execute();
    return new Map(hosts.map((h) => [h.id, h.address ?? '']));
  }

  private instance(row: Instance, nodeAddress?: string): EdgeInstanceState {
    return {
      id: row.id,
      edgeIp: row.edge_ip ?? '',
      production: row.stage === 'production',
      longpolling: Number.parseInt(row.odoo_version, 10) <= 15,
      platformHostname: row.hostname ?? '',
      primaryHostname: row.primary_hostname,
      ...this.upstreams(row, nodeAddress),
      protection: this.protection(row.id, row.protection),
      // The same for every instance today (MARINA_EDGE_MAX_UPLOAD_MB); plans (#19) will set it per instance.
      maxRequestBodyBytes: this.deps.edge.maxUploadMb * MIB,
    };
  }

  /**
   * Published ports (development, or another host's instance — reached as before), or the
   * container by name on its network; a gevent port recorded means the instance runs workers.
   */
  private upstreams(row: Instance, nodeAddress?: string): Pick<EdgeInstanceState, 'httpUpstream' | 'geventUpstream'> {
    if (this.deps.publishes(row)) {
      const host = nodeAddress ?? this.deps.upstreamHost;
      return {
        httpUpstream: `${host}:${row.http_port}`,
        geventUpstream: row.gevent_port === null ? null : `${nodeAddress ?? '127.0.0.1'}:${row.gevent_port}`,
      };
    }
    const label = odooLabel(row.id);
    return {
      httpUpstream: { label, port: ODOO_HTTP_PORT },
      geventUpstream: row.gevent_port === null ? null : { label, port: ODOO_GEVENT_PORT },
    };
  }

  private protection(id: string, protection: InstanceProtection | null): EdgeInstanceState['protection'] {
    if (!protection) return null;
    if (protection.kind === 'allow') return { kind: 'allow', addresses: protection.addresses };
    // The domains module stores the hash beside the sealed password; older rows get one made here.
    const stored = (protection as { hash?: unknown }).hash;
    if (typeof stored === 'string') return { kind: 'basic', username: protection.username, passwordHash: stored };
    let hash = this.hashes.get(protection.password);
    if (!hash) {
      hash = bcrypt.hashSync(this.deps.box.open(protection.password, protectionPasswordAt(id)), 10);
      this.hashes.set(protection.password, hash);
    }
    return { kind: 'basic', username: protection.username, passwordHash: hash };
  }
}
