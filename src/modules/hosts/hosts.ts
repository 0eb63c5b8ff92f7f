import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Host } from '../../db/schema.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { connectRuntime } from '../../runtime/index.js';
import type { Runtime, RuntimeFactory } from '../../runtime/port.js';
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

  /** The runtime of a host, made once per process from the address stored for it. */
  async runtime(id: string): Promise<Runtime> {
    let runtime = this.runtimes.get(id);
    if (!runtime) {
      runtime = this.connect((await this.row(id)).docker_host);
      this.runtimes.set(id, runtime);
    }
    return runtime;
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
