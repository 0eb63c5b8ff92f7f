import type { Logger } from 'pino';
import { LABEL_ID, LABEL_KIND } from '../adapters/docker/engine.js';
import { dropDatabaseAndRole, listMarinaDatabases } from '../adapters/postgres/admin.js';
import type { Db } from '../db/database.js';
import { MarinaError } from '../errors.js';
import { requirePlatformAdmin } from './access.js';
import type { AuditService } from './audit.js';
import type { RequestContext } from './context.js';
import type { DatabaseServerService } from './database-servers.js';
import type { HostService } from './hosts.js';

export type OrphanKind = 'container' | 'volume' | 'database';

export interface Orphan {
  kind: OrphanKind;
  name: string;
  hostId: string;
  /** The instance or server it was made for, from its labels, when known. */
  madeFor: string | null;
  detail: string;
}

export interface ReconcileReport {
  orphans: Orphan[];
  missing: { id: string; name: string; containerName: string }[];
  unreachableHosts: string[];
}

/**
 * Compares what Marina knows with what exists on its hosts: Docker objects and databases that
 * carry Marina's marks but belong to nothing Marina knows are orphans, for an admin to remove;
 * known instances whose container vanished are "missing".
 */
export class ReconcileService {
  constructor(
    private readonly db: Db,
    private readonly hosts: HostService,
    private readonly databaseServers: DatabaseServerService,
    private readonly audit: AuditService,
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {}

  async scan(ctx: RequestContext): Promise<ReconcileReport> {
    requirePlatformAdmin(ctx.actor);
    return this.report();
  }

  async report(): Promise<ReconcileReport> {
    const instances = await this.db
      .selectFrom('instances')
      .select(['id', 'name', 'container_name', 'volume_name', 'db_name', 'host_id', 'status'])
      .execute();
    const servers = await this.db.selectFrom('database_servers').selectAll().execute();
    const knownIds = new Set([...instances.map((i) => i.id), ...servers.map((s) => s.id)]);
    const knownContainers = new Set([
      ...instances.flatMap((i) => [i.container_name, `${i.container_name}-init`]),
      ...servers.map((s) => s.container_name),
    ]);
    const knownVolumes = new Set([...instances.map((i) => i.volume_name), ...servers.map((s) => s.volume_name)]);
    const knownDatabases = new Set(instances.map((i) => i.db_name));
    const report: ReconcileReport = { orphans: [], missing: [], unreachableHosts: [] };

    for (const host of await this.db.selectFrom('hosts').selectAll().execute()) {
      let engine: Awaited<ReturnType<HostService['reachableEngine']>>;
      try {
        engine = await this.hosts.reachableEngine(host.id);
      } catch {
        report.unreachableHosts.push(host.id);
        continue;
      }
      const containers = await engine.listManaged(this.namespace);
      const present = new Set(containers.map((c) => c.name));
      for (const c of containers) {
        const madeFor = c.labels[LABEL_ID] ?? null;
        if (
          !knownContainers.has(c.name) &&
          !(madeFor && knownIds.has(madeFor) && c.labels[LABEL_KIND] === 'postgres')
        ) {
          report.orphans.push({
            kind: 'container',
            name: c.name,
            hostId: host.id,
            madeFor,
            detail: `${c.labels[LABEL_KIND] ?? 'container'}, ${c.status}`,
          });
        }
      }
      for (const v of await engine.listManagedVolumes(this.namespace)) {
        if (!knownVolumes.has(v.name)) {
          report.orphans.push({
            kind: 'volume',
            name: v.name,
            hostId: host.id,
            madeFor: v.labels[LABEL_ID] ?? null,
            detail: v.labels[LABEL_KIND] ?? 'volume',
          });
        }
      }
      // A failed provisioning, or a job still creating or deleting, has no container to miss.
      const expected = instances.filter(
        (i) => i.host_id === host.id && !['failed', 'provisioning', 'deleting'].includes(i.status),
      );
      for (const instance of expected) {
        if (!present.has(instance.container_name))
          report.missing.push({ id: instance.id, name: instance.name, containerName: instance.container_name });
      }
      for (const server of servers.filter((s) => s.kind === 'managed' && s.host_id === host.id)) {
        try {
          for (const name of await listMarinaDatabases(await this.databaseServers.connection(server))) {
            if (!knownDatabases.has(name))
              report.orphans.push({
                kind: 'database',
                name,
                hostId: host.id,
                madeFor: null,
                detail: `on ${server.name}`,
              });
          }
        } catch (error) {
          this.logger.warn({ err: error, server: server.name }, 'could not list the databases of a server');
        }
      }
    }
    return report;
  }

  /** Removes one orphan, after checking again that it still belongs to nothing Marina knows. */
  async remove(ctx: RequestContext, orphan: { kind: OrphanKind; name: string; hostId: string }): Promise<void> {
    requirePlatformAdmin(ctx.actor);
    const current = (await this.report()).orphans.find(
      (o) => o.kind === orphan.kind && o.name === orphan.name && o.hostId === orphan.hostId,
    );
    if (!current)
      throw new MarinaError(
        'MARINA_E_NOT_FOUND',
        `No orphan ${orphan.kind} named ${orphan.name} on host ${orphan.hostId}.`,
      );
    const engine = await this.hosts.reachableEngine(orphan.hostId);
    if (orphan.kind === 'container') await engine.remove(orphan.name);
    if (orphan.kind === 'volume') await engine.removeVolume(orphan.name);
    if (orphan.kind === 'database') {
      const server = await this.db
        .selectFrom('database_servers')
        .selectAll()
        .where('kind', '=', 'managed')
        .where('host_id', '=', orphan.hostId)
        .executeTakeFirstOrThrow();
      await dropDatabaseAndRole(await this.databaseServers.connection(server), orphan.name);
    }
    await this.audit.record(ctx, {
      action: 'reconcile.remove',
      target: { type: orphan.kind, id: orphan.name, label: orphan.name },
      details: { hostId: orphan.hostId, madeFor: current.madeFor },
    });
  }
}
