import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Host } from '../../db/schema.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { DockerRuntime } from '../../runtime/docker/runtime.js';
import { SwarmEngine } from '../../runtime/docker/swarm.js';
import { connectRuntime } from '../../runtime/index.js';
import type { Runtime, RuntimeAccess, RuntimeFactory } from '../../runtime/port.js';
import { SwarmRuntime } from '../../runtime/swarm/runtime.js';
import type { Host as HostSchema } from './schemas.js';

export const LOCAL_HOST_ID = 'local';

/** A host as the API answers it (the `Host` schema). */
export type HostView = Static<typeof HostSchema>;

const view = (h: Host): HostView => ({
  id: h.id,
  name: h.name,
  dockerHost: h.docker_host,
  state: h.state,
  message: h.state_message,
  engineVersion: h.engine_version,
  os: h.os,
  cpus: h.cpus,
  memoryBytes: h.memory_bytes === null ? null : Number(h.memory_bytes),
  checkedAt: h.checked_at?.toISOString() ?? null,
});

/** What to do when the engine does not answer, in the words of the error. */
export function explainUnreachable(dockerHost: string, error: unknown): string {
  const reason = (error as { code?: string; message?: string }).code ?? (error as Error).message;
  const base = `Cannot reach the Docker engine at ${dockerHost} (${reason}).`;
  if (reason === 'ENOENT')
    return `${base} Install and start Docker (apt-get install docker.io; systemctl start docker), or set MARINA_DOCKER_HOST.`;
  if (reason === 'EACCES')
    return `${base} Give Marina's user access to the socket (usermod -aG docker marina), then restart Marina.`;
  if (reason === 'ECONNREFUSED')
    return `${base} The engine is not listening there: start it (systemctl start docker) or fix MARINA_DOCKER_HOST.`;
  return `${base} Check that the engine runs and MARINA_DOCKER_HOST points at it.`;
}

export interface HostServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** How a host's runtime is reached from its stored address: Docker unless a test brings a stand-in. */
  connect?: RuntimeFactory;
  /** Opens a cluster host's sealed TLS material. */
  box?: SecretBox;
}

/** Where a host's TLS material is sealed: bound to its row, so it cannot be moved to another. */
export const hostTlsAt = (id: string) => ({ table: 'hosts', column: 'tls', row: id });

/**
 * A cluster host's access material (TLS certificates, or an SSH key and pinned host key), opened;
 * undefined for the engine reached through its socket (the local one).
 */
export function openHostTls(host: Host, box: SecretBox | undefined): RuntimeAccess | undefined {
  if (!host.tls) return undefined;
  if (!box) throw new Error(`host ${host.id} has TLS material but no secret box was given to open it`);
  return JSON.parse(box.open(host.tls, hostTlsAt(host.id))) as RuntimeAccess;
}

/** Docker engines Marina places instances on. The local engine is registered at start-up. */
export class HostService {
  private readonly runtimes = new Map<string, Runtime>();

  /** How a host's runtime is reached from its stored address (a stand-in in some tests). */
  private readonly connect: RuntimeFactory;

  constructor(private readonly deps: HostServiceDeps) {
    this.connect = deps.connect ?? connectRuntime;
  }

  async registerLocal(dockerHost: string): Promise<HostView> {
    await this.deps.db
      .insertInto('hosts')
      .values({ id: LOCAL_HOST_ID, name: 'local', docker_host: dockerHost })
      .onConflict((oc) => oc.column('id').doUpdateSet({ docker_host: dockerHost }))
      .execute();
    this.runtimes.delete(LOCAL_HOST_ID);
    return this.refresh(LOCAL_HOST_ID);
  }

  /** Asks the engine how it is; an unreachable engine is a state to show, not a reason to crash. */
  async refresh(id: string): Promise<HostView> {
    const host = await this.row(id);
    const now = this.deps.clock.now();
    try {
      const info = await (await this.runtime(id)).info();
      const updated = await this.deps.db
        .updateTable('hosts')
        .set({
          state: 'reachable',
          state_message: null,
          engine_version: info.version,
          os: info.os,
          cpus: info.cpus,
          memory_bytes: info.memoryBytes,
          checked_at: now,
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return view(updated);
    } catch (error) {
      const message = explainUnreachable(host.docker_host, error);
      this.deps.logger.warn({ host: id }, message);
      const updated = await this.deps.db
        .updateTable('hosts')
        .set({ state: 'unreachable', state_message: message, checked_at: now })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return view(updated);
    }
  }

  /** Forgets the runtime made for a host (its address or TLS material changed, or it was removed). */
  forget(id: string): void {
    this.runtimes.delete(id);
  }

  async list(actor: Actor): Promise<HostView[]> {
    requirePlatformAdmin(actor);
    const rows = await this.deps.db.selectFrom('hosts').selectAll().orderBy('name').execute();
    return rows.map(view);
  }

  async row(id: string): Promise<Host> {
    const host = await this.deps.db.selectFrom('hosts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!host) throw notFound('Host');
    return host;
  }

  /**
   * The runtime of a host, made once per process from the address stored for it. A node of the
   * cluster gets the Swarm runtime: its instances are services, asked of a manager that answers.
   */
  async runtime(id: string): Promise<Runtime> {
    let runtime = this.runtimes.get(id);
    if (!runtime) {
      const host = await this.row(id);
      const tls = openHostTls(host, this.deps.box);
      runtime =
        host.role === 'manager' || host.role === 'worker'
          ? new SwarmRuntime(new DockerRuntime(host.docker_host, tls), () => this.managerEngine(), id)
          : this.connect(host.docker_host, tls);
      this.runtimes.set(id, runtime);
    }
    return runtime;
  }

  /** A manager of the cluster that answers, tried in name order (the leader is not known without asking). */
  async swarmManager(exceptId?: string): Promise<{ host: Host; engine: SwarmEngine } | undefined> {
    const managers = await this.deps.db
      .selectFrom('hosts')
      .selectAll()
      .where('role', '=', 'manager')
      .orderBy('name')
      .execute();
    for (const host of managers) {
      if (host.id === exceptId) continue;
      const engine = new SwarmEngine(host.docker_host, openHostTls(host, this.deps.box));
      try {
        if ((await engine.membership()).isManager) return { host, engine };
      } catch (error) {
        this.deps.logger.debug({ host: host.id, err: error }, 'manager does not answer');
      }
    }
    return undefined;
  }

  private async managerEngine(): Promise<SwarmEngine> {
    const manager = await this.swarmManager();
    if (!manager) throw new MarinaError('MARINA_E_NODE_UNREACHABLE', 'No manager of the cluster answers.');
    return manager.engine;
  }

  /** The runtime of a host that answers, or an error that says what to fix. */
  async reachableRuntime(id: string): Promise<Runtime> {
    const runtime = await this.runtime(id);
    try {
      await runtime.ping();
      return runtime;
    } catch (error) {
      const host = await this.row(id);
      throw new MarinaError('MARINA_E_DOCKER_UNAVAILABLE', explainUnreachable(host.docker_host, error));
    }
  }
}
