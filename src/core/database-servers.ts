import type { Logger } from 'pino';
import { LABEL_ID, LABEL_KIND, LABEL_MANAGED, LABEL_NAMESPACE } from '../adapters/docker/engine.js';
import { type ServerConnection, waitUntilReady } from '../adapters/postgres/admin.js';
import type { Db } from '../db/database.js';
import type { DatabaseServer } from '../db/schema.js';
import { MarinaError } from '../errors.js';
import type { HostService } from './hosts.js';
import type { SecretBox } from './secret-box.js';
import { randomSecret } from './secrets.js';

/** The Docker network Marina's containers share on a host (named after the namespace); Odoo reaches PostgreSQL through it. */
export const networkName = (namespace: string): string => namespace;
export const postgresAlias = (namespace: string): string => `${namespace}-postgres`;

export const namespaceLabels = (namespace: string, kind: string, id?: string): Record<string, string> => ({
  [LABEL_MANAGED]: 'true',
  [LABEL_NAMESPACE]: namespace,
  [LABEL_KIND]: kind,
  ...(id ? { [LABEL_ID]: id } : {}),
});

/**
 * PostgreSQL servers for Odoo databases: one Marina-managed container per host (official
 * `postgres` image contract, data in a named volume), or an external server.
 */
/**
 * The managed server's own settings (the image's defaults otherwise): restores, clones and module
 * upgrades write a database's size in WAL at once, and with the default 1 GB a checkpoint would
 * flush everything halfway through each of them.
 */
const MANAGED_SERVER_SETTINGS = ['postgres', '-c', 'max_wal_size=4GB'];

export class DatabaseServerService {
  private readonly creating = new Map<string, Promise<DatabaseServer>>();

  constructor(
    private readonly db: Db,
    private readonly hosts: HostService,
    private readonly box: SecretBox,
    private readonly image: string,
    private readonly namespace: string,
    private readonly logger: Logger,
    private readonly externalUrl?: string,
  ) {}

  /** Where new instances of a host get their database: the external server if one is set, else the host's own. */
  async forInstances(hostId: string): Promise<DatabaseServer> {
    return this.externalUrl ? this.ensureExternal(hostId, this.externalUrl) : this.ensureManaged(hostId);
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
      throw new MarinaError('MARINA_E_JOB_FAILED', 'MARINA_ODOO_DATABASE_URL must name a superuser and its password.');
    }
    const values = {
      internal_host: parsed.hostname,
      internal_port: Number(parsed.port || 5432),
      superuser: user,
      superuser_password: this.box.seal(password),
      external_url: this.box.seal(url),
    };
    const server = await this.db
      .insertInto('database_servers')
      .values({ name: 'external', kind: 'external', state: 'ready', ...values })
      .onConflict((oc) => oc.column('name').doUpdateSet(values))
      .returningAll()
      .executeTakeFirstOrThrow();
    try {
      await waitUntilReady(await this.connection(server), 10_000);
    } catch (error) {
      throw new MarinaError(
        'MARINA_E_JOB_FAILED',
        `The external PostgreSQL server ${parsed.hostname}:${values.internal_port} does not answer: ${(error as Error).message}`,
      );
    }
    // Odoo containers still join the namespace's network, which the managed path would have made.
    const engine = await this.hosts.reachableEngine(hostId);
    await engine.ensureNetwork(networkName(this.namespace), namespaceLabels(this.namespace, 'network'));
    return server;
  }

  async get(id: string): Promise<DatabaseServer> {
    return this.db.selectFrom('database_servers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
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

  private async createOrStart(hostId: string): Promise<DatabaseServer> {
    const engine = await this.hosts.reachableEngine(hostId);
    let server = await this.db
      .selectFrom('database_servers')
      .selectAll()
      .where('kind', '=', 'managed')
      .where('host_id', '=', hostId)
      .executeTakeFirst();
    if (!server) {
      const name = `${this.namespace}-postgres-${hostId}`;
      server = await this.db
        .insertInto('database_servers')
        .values({
          name,
          kind: 'managed',
          host_id: hostId,
          image: this.image,
          container_name: name,
          volume_name: `${name}-data`,
          network: networkName(this.namespace),
          internal_host: postgresAlias(this.namespace),
          internal_port: 5432,
          superuser: 'postgres',
          superuser_password: this.box.seal(randomSecret(24)),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    }
    const labels = namespaceLabels(this.namespace, 'postgres', server.id);
    const containerName = server.container_name ?? '';
    const state = await engine.state(containerName);
    if (!state) {
      const image = server.image ?? this.image;
      if (!(await engine.hasImage(image))) {
        throw new MarinaError(
          'MARINA_E_IMAGE_MISSING',
          `The PostgreSQL image ${image} is not on host ${hostId}. Pull it there (docker pull ${image}) or set MARINA_POSTGRES_IMAGE.`,
        );
      }
      this.logger.info({ host: hostId, image }, 'creating the managed PostgreSQL server');
      await engine.ensureNetwork(
        server.network ?? networkName(this.namespace),
        namespaceLabels(this.namespace, 'network'),
      );
      await engine.ensureVolume(server.volume_name ?? '', labels);
      await engine.createContainer({
        name: containerName,
        image,
        cmd: MANAGED_SERVER_SETTINGS,
        env: {
          POSTGRES_USER: server.superuser,
          POSTGRES_PASSWORD: this.box.open(server.superuser_password),
          POSTGRES_DB: 'postgres',
        },
        labels,
        network: server.network ?? networkName(this.namespace),
        networkAliases: [server.internal_host],
        mounts: [{ type: 'volume', source: server.volume_name ?? '', target: '/var/lib/postgresql/data' }],
        // Marina itself connects through loopback; Odoo containers through the Marina network.
        ports: [{ container: 5432, hostIp: '127.0.0.1', hostPort: 0 }],
        restart: 'unless-stopped',
      });
    }
    if (!state?.running) await engine.start(containerName);
    await waitUntilReady(await this.connection(server), 60_000);
    return this.db
      .updateTable('database_servers')
      .set({ state: 'ready' })
      .where('id', '=', server.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** How Marina itself connects as superuser. */
  async connection(server: DatabaseServer): Promise<ServerConnection> {
    const password = this.box.open(server.superuser_password);
    if (server.kind === 'external') {
      const url = new URL(this.box.open(server.external_url ?? ''));
      return { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), password };
    }
    const engine = await this.hosts.reachableEngine(server.host_id ?? '');
    const port = await engine.publishedPort(server.container_name ?? '', 5432);
    if (!port)
      throw new MarinaError(
        'MARINA_E_JOB_FAILED',
        `The PostgreSQL container ${server.container_name} publishes no port.`,
      );
    return { host: '127.0.0.1', port, user: server.superuser, password };
  }
}
