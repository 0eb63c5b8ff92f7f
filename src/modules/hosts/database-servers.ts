import type { Logger } from 'pino';
import { type ServerConnection, waitUntilReady } from '../../adapters/postgres/admin.js';
import type { Db } from '../../db/database.js';
import type { DatabaseServer, Instance } from '../../db/schema.js';
import { MarinaError } from '../../platform/errors.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { randomSecret } from '../../platform/secrets/secrets.js';
import { LABEL_ID, LABEL_KIND, LABEL_MANAGED, LABEL_NAMESPACE } from '../../runtime/port.js';
import { type HostService, LOCAL_HOST_ID } from './hosts.js';

/** The namespace's network on a host (named after it): the database server and helper containers; no Odoo. */
export const networkName = (namespace: string): string => namespace;
export const postgresAlias = (namespace: string): string => `${namespace}-postgres`;

/** Label kind of the per-organization networks (found again when the server container is remade). */
export const ORGANIZATION_NETWORK_KIND = 'organization-network';

/**
 * Label kind of the managed reverse proxy's container and volumes (edge/managed-proxy.ts): Marina's
 * own, never orphans, though no row records them.
 */
export const MANAGED_PROXY_KIND = 'proxy';

/**
 * The network of one organization's instances on a host. Organizations share no network: an Odoo
 * reaches the database server (attached to each) and nothing of another organization.
 */
export function organizationNetworkName(namespace: string, organizationId: string): string {
  const id = organizationId.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`not an organization id: ${organizationId}`);
  return `${namespace}-org-${id}`;
}

export const namespaceLabels = (namespace: string, kind: string, id?: string): Record<string, string> => ({
  [LABEL_MANAGED]: 'true',
  [LABEL_NAMESPACE]: namespace,
  [LABEL_KIND]: kind,
  ...(id ? { [LABEL_ID]: id } : {}),
});

/**
 * The managed server's own settings (the image's defaults otherwise): restores, clones and module
 * upgrades write a database's size in WAL at once, and with the default 1 GB a checkpoint would
 * flush everything halfway through each of them. Logical WAL lets a move copy a database while
 * Odoo serves (backups/live-copy.ts), with a few replication workers copying its tables side by side.
 */
const MANAGED_SERVER_SETTINGS = [
  'postgres',
  ...['-c', 'max_wal_size=4GB', '-c', 'wal_level=logical', '-c', 'max_worker_processes=16'],
  ...['-c', 'max_logical_replication_workers=8', '-c', 'max_sync_workers_per_subscription=4'],
];

export interface DatabaseServerServiceDeps {
  db: Db;
  hosts: HostService;
  box: SecretBox;
  logger: Logger;
  /** The `postgres` image of managed servers. */
  image: string;
  namespace: string;
  /** An external server Odoo databases live in instead of a managed one. */
  externalUrl?: string;
}

/**
 * PostgreSQL servers for Odoo databases: one Marina-managed container per host (official
 * `postgres` image contract, data in a named volume), or an external server.
 */
export class DatabaseServerService {
  private readonly creating = new Map<string, Promise<DatabaseServer>>();

  constructor(private readonly deps: DatabaseServerServiceDeps) {}

  /** Where new instances of a host get their database: the external server if one is set, else the host's own. */
  async forInstances(hostId: string): Promise<DatabaseServer> {
    return this.deps.externalUrl ? this.ensureExternal(hostId, this.deps.externalUrl) : this.ensureManaged(hostId);
  }

  /**
   * An external server (MARINA_ODOO_DATABASE_URL): recorded once, checked to answer. Its address must
   * be reachable from Marina and from the Odoo containers alike.
   */
  async ensureExternal(hostId: string, url: string): Promise<DatabaseServer> {
    const parsed = new URL(url);
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    if (!user || !password) {
      throw new MarinaError(
        'MARINA_E_DATABASE_SERVER_UNAVAILABLE',
        'MARINA_ODOO_DATABASE_URL must name a superuser and its password.',
      );
    }
    // The sealed values are bound to the row's id: make the row first, then seal for the id it has.
    const sealedFor = (id: string) => ({
      internal_host: parsed.hostname,
      internal_port: Number(parsed.port || 5432),
      superuser: user,
      superuser_password: this.deps.box.seal(password, sealedAt('database_servers', 'superuser_password', id)),
      external_url: this.deps.box.seal(url, sealedAt('database_servers', 'external_url', id)),
    });
    const fresh = crypto.randomUUID();
    await this.deps.db
      .insertInto('database_servers')
      .values({ id: fresh, name: 'external', kind: 'external', state: 'ready', ...sealedFor(fresh) })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const { id } = await this.deps.db
      .selectFrom('database_servers')
      .select('id')
      .where('name', '=', 'external')
      .executeTakeFirstOrThrow();
    const values = sealedFor(id);
    const server = await this.deps.db
      .updateTable('database_servers')
      .set(values)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    try {
      await waitUntilReady(await this.connection(server), 10_000);
    } catch (error) {
      throw new MarinaError(
        'MARINA_E_DATABASE_SERVER_UNAVAILABLE',
        `The external PostgreSQL server ${parsed.hostname}:${values.internal_port} does not answer: ${(error as Error).message}`,
      );
    }
    // Helper containers (backup tools) join the namespace's network, which the managed path would have made.
    const runtime = await this.deps.hosts.reachableRuntime(hostId);
    await runtime.ensureNetwork(networkName(this.deps.namespace), namespaceLabels(this.deps.namespace, 'network'));
    return server;
  }

  /**
   * The organization's network on the host, made on first use, with the managed server attached
   * under its alias: Odoo finds it by the same name as before, and it serves nothing but PostgreSQL.
   */
  async organizationNetwork(server: DatabaseServer, hostId: string, organizationId: string): Promise<string> {
    const runtime = await this.deps.hosts.reachableRuntime(hostId);
    const name = organizationNetworkName(this.deps.namespace, organizationId);
    await runtime.ensureNetwork(name, namespaceLabels(this.deps.namespace, ORGANIZATION_NETWORK_KIND, organizationId));
    if (server.kind === 'managed' && server.host_id === hostId && server.container_name)
      await runtime.connectNetwork(name, server.container_name, [server.internal_host]);
    return name;
  }

  /**
   * The network template databases are built on ahead of any instance: the database server and
   * the builder only, with no route out (Odoo installs from its own source).
   */
  async templatesNetwork(server: DatabaseServer, hostId: string): Promise<string> {
    const runtime = await this.deps.hosts.reachableRuntime(hostId);
    const name = `${this.deps.namespace}-templates`;
    await runtime.ensureNetwork(name, namespaceLabels(this.deps.namespace, 'templates-network'), { internal: true });
    if (server.kind === 'managed' && server.host_id === hostId && server.container_name)
      await runtime.connectNetwork(name, server.container_name, [server.internal_host]);
    return name;
  }

  /**
   * Removes an organization's network once it has no instance left on the host (each one takes an
   * address range of the engine's pools). An instance recorded meanwhile makes it again when it starts.
   */
  async releaseOrganizationNetwork(
    server: DatabaseServer | undefined,
    hostId: string,
    organizationId: string,
  ): Promise<void> {
    const left = await this.deps.db
      .selectFrom('instances')
      .select('id')
      .where('organization_id', '=', organizationId)
      .where('host_id', '=', hostId)
      .executeTakeFirst();
    if (left) return;
    const runtime = await this.deps.hosts.reachableRuntime(hostId);
    const name = organizationNetworkName(this.deps.namespace, organizationId);
    if (server?.kind === 'managed' && server.host_id === hostId && server.container_name)
      await runtime.disconnectNetwork(name, server.container_name);
    await runtime.removeNetwork(name);
  }

  async get(id: string): Promise<DatabaseServer> {
    return this.deps.db.selectFrom('database_servers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  /** The host's managed server, created on first use and started again if it was stopped. */
  ensureManaged(hostId: string): Promise<DatabaseServer> {
    // One creation at a time per host: two provisioning jobs must not race to create the container.
    const pending = this.creating.get(hostId);
    if (pending) return pending;
    const work = this.createOrStart(hostId).finally(() => this.creating.delete(hostId));
    this.creating.set(hostId, work);
    return work;
  }

  /**
   * A node that returns may come back with its managed server stopped (its engine restarted under
   * it): started again, so the instances left there find their databases. Nothing without one.
   * Tried again for a while: for a few seconds after Swarm says the node is ready, its engine does
   * not know the overlay networks yet ("network … not found"), and the server is attached to them.
   */
  async restartManaged(hostId: string, retry = { forMs: 60_000, pauseMs: 1_000 }): Promise<void> {
    const server = await this.deps.db
      .selectFrom('database_servers')
      .select('id')
      .where('kind', '=', 'managed')
      .where('host_id', '=', hostId)
      .executeTakeFirst();
    if (!server) return;
    const deadline = Date.now() + retry.forMs;
    for (;;) {
      try {
        await this.ensureManaged(hostId);
        return;
      } catch (error) {
        if (Date.now() + retry.pauseMs > deadline) throw error;
        this.deps.logger.warn({ err: error, host: hostId }, 'the database server of a returned node did not start yet');
        await new Promise((resolve) => setTimeout(resolve, retry.pauseMs));
      }
    }
  }

  private async createOrStart(hostId: string): Promise<DatabaseServer> {
    const runtime = await this.deps.hosts.reachableRuntime(hostId);
    let server = await this.deps.db
      .selectFrom('database_servers')
      .selectAll()
      .where('kind', '=', 'managed')
      .where('host_id', '=', hostId)
      .executeTakeFirst();
    if (!server) {
      const name = `${this.deps.namespace}-postgres-${hostId}`;
      const id = crypto.randomUUID();
      server = await this.deps.db
        .insertInto('database_servers')
        .values({
          id,
          name,
          kind: 'managed',
          host_id: hostId,
          image: this.deps.image,
          container_name: name,
          volume_name: `${name}-data`,
          network: networkName(this.deps.namespace),
          // A cluster's networks are overlays that span the nodes, each node's server attached to
          // them: each answers to a name of its own, or Odoo could reach another node's server.
          internal_host:
            hostId === LOCAL_HOST_ID
              ? postgresAlias(this.deps.namespace)
              : `${postgresAlias(this.deps.namespace)}-${hostId}`,
          internal_port: 5432,
          superuser: 'postgres',
          superuser_password: this.deps.box.seal(
            randomSecret(24),
            sealedAt('database_servers', 'superuser_password', id),
          ),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    }
    const labels = namespaceLabels(this.deps.namespace, 'postgres', server.id);
    const containerName = server.container_name ?? '';
    const state = await runtime.state(containerName);
    if (!state) {
      const image = server.image ?? this.deps.image;
      if (!(await runtime.hasImage(image))) {
        throw new MarinaError(
          'MARINA_E_IMAGE_MISSING',
          `The PostgreSQL image ${image} is not on host ${hostId}. Pull it there (docker pull ${image}) or set MARINA_POSTGRES_IMAGE.`,
        );
      }
      this.deps.logger.info({ host: hostId, image }, 'creating the managed PostgreSQL server');
      await runtime.ensureNetwork(
        server.network ?? networkName(this.deps.namespace),
        namespaceLabels(this.deps.namespace, 'network'),
      );
      await runtime.ensureVolume(server.volume_name ?? '', labels);
      // Shared by every tenant: the runtime bounds it by the host's size rather than a tool's default.
      await runtime.createDatabaseServer({
        name: containerName,
        image,
        command: MANAGED_SERVER_SETTINGS,
        env: {
          POSTGRES_USER: server.superuser,
          POSTGRES_PASSWORD: this.deps.box.open(
            server.superuser_password,
            sealedAt('database_servers', 'superuser_password', server.id),
          ),
          POSTGRES_DB: 'postgres',
        },
        labels,
        network: server.network ?? networkName(this.deps.namespace),
        alias: server.internal_host,
        volume: server.volume_name ?? '',
        dataDir: '/var/lib/postgresql/data',
        // Marina itself connects through loopback; Odoo containers through their organization's network.
        port: 5432,
      });
      // A server made again joins the organizations' networks the old one served.
      for (const network of await runtime.listNetworks(this.deps.namespace, ORGANIZATION_NETWORK_KIND))
        await runtime.connectNetwork(network, containerName, [server.internal_host]);
    }
    if (!state?.running) await runtime.start(containerName);
    await waitUntilReady(await this.connection(server), 60_000);
    return this.deps.db
      .updateTable('database_servers')
      .set({ state: 'ready' })
      .where('id', '=', server.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * How Marina connects as an instance's own role, for anything inside its database: the tenant
   * controls that database (triggers, views, search_path), so nothing there runs as superuser.
   */
  async forInstance(
    instance: Pick<Instance, 'id' | 'database_server_id' | 'db_name' | 'db_password'>,
  ): Promise<ServerConnection> {
    if (!instance.database_server_id)
      throw new MarinaError('MARINA_E_NO_DATABASE', 'The instance has no database yet.');
    const server = await this.get(instance.database_server_id);
    return { ...(await this.connection(server)), ...this.roleOf(instance) };
  }

  /** An instance's role and password (the role is named after its database). */
  roleOf(instance: Pick<Instance, 'id' | 'db_name' | 'db_password'>): { user: string; password: string } {
    return {
      user: instance.db_name,
      password: this.deps.box.open(instance.db_password, sealedAt('instances', 'db_password', instance.id)),
    };
  }

  /** How Marina itself connects as superuser: only ever to the maintenance database (adapters/postgres/admin). */
  async connection(server: DatabaseServer): Promise<ServerConnection> {
    const password = this.deps.box.open(
      server.superuser_password,
      sealedAt('database_servers', 'superuser_password', server.id),
    );
    if (server.kind === 'external') {
      const url = new URL(
        this.deps.box.open(server.external_url ?? '', sealedAt('database_servers', 'external_url', server.id)),
      );
      return { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), password };
    }
    const runtime = await this.deps.hosts.reachableRuntime(server.host_id ?? '');
    const container = server.container_name ?? '';
    // A cluster node's server publishes its port on the node's loopback only: Marina comes in
    // through the node's engine (mutual TLS), never over a port open to the network.
    if (runtime.tunnel && (await this.deps.hosts.row(server.host_id ?? '')).role !== 'standalone') {
      const tunnel = runtime.tunnel.bind(runtime);
      return { host: container, port: 5432, user: server.superuser, password, stream: () => tunnel(container) };
    }
    const port = await runtime.publishedPort(container, 5432);
    if (!port)
      throw new MarinaError(
        'MARINA_E_DATABASE_SERVER_UNAVAILABLE',
        `The PostgreSQL container ${container} publishes no port.`,
      );
    return { host: '127.0.0.1', port, user: server.superuser, password };
  }
}
