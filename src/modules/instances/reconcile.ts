import type { Logger } from 'pino';
import type { Static } from 'typebox';
import { dropDatabaseAndRole, listMarinaDatabases, withClient } from '../../adapters/postgres/admin.js';
import type { Db } from '../../db/database.js';
import { type Instance, stages } from '../../db/schema.js';
import { parseOdooConf } from '../../odoo/config-file.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { isUuid, patterns } from '../../platform/validation.js';
import { LABEL_ID, LABEL_KIND, type Runtime } from '../../runtime/port.js';
import { configVolumeOf } from '../../runtime/swarm/service-spec.js';
import { type DatabaseServerService, MANAGED_PROXY_KIND } from '../hosts/database-servers.js';
import type { HostService } from '../hosts/hosts.js';
import type { Orphan as OrphanSchema, ReconcileReport as ReconcileReportSchema } from './schemas.js';

/** Something on a host that belongs to nothing Marina knows (the `Orphan` schema). */
export type Orphan = Static<typeof OrphanSchema>;

export type OrphanKind = Orphan['kind'];

/** What a reconcile scan finds (the `ReconcileReport` schema). */
export type ReconcileReport = Static<typeof ReconcileReportSchema>;

export interface ReconcileServiceDeps {
  db: Db;
  hosts: HostService;
  databaseServers: DatabaseServerService;
  audit: AuditService;
  box: SecretBox;
  namespace: string;
  logger: Logger;
}

/**
 * Compares what Marina knows with what exists on its hosts: Docker objects and databases that
 * carry Marina's marks but belong to nothing Marina knows are orphans, for an admin to remove;
 * known instances whose container vanished are "missing".
 */
export class ReconcileService {
  constructor(private readonly deps: ReconcileServiceDeps) {}

  async scan(ctx: RequestContext): Promise<ReconcileReport> {
    requirePlatformAdmin(ctx.actor);
    return this.report();
  }

  async report(): Promise<ReconcileReport> {
    const instances = await this.deps.db
      .selectFrom('instances')
      .select([
        'id',
        'name',
        'container_name',
        'volume_name',
        'db_name',
        'host_id',
        'database_server_id',
        'status',
        'undo_until',
      ])
      .execute();
    const servers = await this.deps.db.selectFrom('database_servers').selectAll().execute();
    const knownIds = new Set([...instances.map((i) => i.id), ...servers.map((s) => s.id)]);
    const templates = await this.deps.db.selectFrom('database_templates').select('volume_name').execute();
    const bytecode = await this.deps.db.selectFrom('bytecode_caches').select(['host_id', 'volume_name']).execute();
    // Known where the instance is: what a recovered instance left on the node it was lost with is not.
    const on = (hostId: string) => instances.filter((i) => i.host_id === hostId);
    const knownContainersOn = (hostId: string) =>
      new Set([
        ...on(hostId).flatMap((i) => [i.container_name, `${i.container_name}-init`]),
        ...servers.map((s) => s.container_name),
      ]);
    const knownVolumesOn = (hostId: string) =>
      new Set([
        // On a cluster node, an instance's odoo.conf has a volume of its own (runtime/swarm).
        ...on(hostId).flatMap((i) => [i.volume_name, configVolumeOf(i.container_name)]),
        ...servers.map((s) => s.volume_name),
        ...templates.map((t) => t.volume_name),
        ...bytecode.filter((b) => b.host_id === hostId).map((b) => b.volume_name),
      ]);
    // What a restore replaced is kept, as its undo, under the instance's name with `_undo`.
    const knownDatabasesOn = (serverId: string) =>
      new Set(
        instances
          .filter((i) => i.database_server_id === serverId || i.database_server_id === null)
          .flatMap((i) => (i.undo_until ? [i.db_name, `${i.db_name}_undo`] : [i.db_name])),
      );
    const report: ReconcileReport = { orphans: [], missing: [], unreachableHosts: [] };

    for (const host of await this.deps.db.selectFrom('hosts').selectAll().execute()) {
      let runtime: Runtime;
      try {
        runtime = await this.deps.hosts.reachableRuntime(host.id);
      } catch {
        report.unreachableHosts.push(host.id);
        continue;
      }
      const knownContainers = knownContainersOn(host.id);
      const knownVolumes = knownVolumesOn(host.id);
      const containers = await runtime.list(this.deps.namespace);
      const present = new Set(containers.map((c) => c.name));
      for (const c of containers) {
        const madeFor = c.labels[LABEL_ID] ?? null;
        if (
          !knownContainers.has(c.name) &&
          !(madeFor && knownIds.has(madeFor) && c.labels[LABEL_KIND] === 'postgres') &&
          c.labels[LABEL_KIND] !== MANAGED_PROXY_KIND
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
      for (const v of await runtime.listVolumes(this.deps.namespace)) {
        if (!knownVolumes.has(v.name) && v.labels[LABEL_KIND] !== MANAGED_PROXY_KIND) {
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
        (i) => i.host_id === host.id && !['failed', 'provisioning', 'deleting', 'restoring'].includes(i.status),
      );
      for (const instance of expected) {
        if (!present.has(instance.container_name))
          report.missing.push({ id: instance.id, name: instance.name, containerName: instance.container_name });
      }
      for (const server of servers.filter((s) => s.kind === 'managed' && s.host_id === host.id)) {
        try {
          const knownDatabases = knownDatabasesOn(server.id);
          for (const name of await listMarinaDatabases(await this.deps.databaseServers.connection(server))) {
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
          this.deps.logger.warn({ err: error, server: server.name }, 'could not list the databases of a server');
        }
      }
    }
    return report;
  }

  /**
   * Takes an orphan Odoo container back under Marina's care (after Marina's database was restored
   * from an older backup, say): its labels name the organization, project, instance and stage; its
   * odoo.conf holds the database credentials and master password; the rest comes from Docker and
   * from the database. The customer's admin password cannot be recovered: it stays unknown.
   */
  async adopt(ctx: RequestContext, orphan: { hostId: string; name: string }): Promise<Instance> {
    requirePlatformAdmin(ctx.actor);
    const current = (await this.report()).orphans.find(
      (o) => o.kind === 'container' && o.name === orphan.name && o.hostId === orphan.hostId,
    );
    if (!current)
      throw new MarinaError('MARINA_E_NOT_FOUND', `No orphan container named ${orphan.name} on host ${orphan.hostId}.`);
    const runtime = await this.deps.hosts.reachableRuntime(orphan.hostId);
    const info = await runtime.describe(orphan.name);
    if (!info)
      throw new MarinaError('MARINA_E_NOT_FOUND', `No orphan container named ${orphan.name} on host ${orphan.hostId}.`);
    const labels = info.labels;
    const refuse = (why: string) => new MarinaError('MARINA_E_CONFLICT', `Cannot adopt ${orphan.name}: ${why}`);
    const id = labels[LABEL_ID] ?? '';
    if (labels[LABEL_KIND] !== 'odoo' || !isUuid(id)) throw refuse('it is not an Odoo container made by Marina.');
    const project = await this.deps.db
      .selectFrom('projects')
      .selectAll()
      .where('id', '=', labels['io.marina.project'] ?? '')
      .executeTakeFirst();
    if (!project || project.organization_id !== labels['io.marina.organization'])
      throw refuse('its project is not known to this Marina.');
    const name = labels['io.marina.name'] ?? '';
    if (!new RegExp(patterns.slug).test(name)) throw refuse('its label io.marina.name is missing or not a valid name.');
    const clash = await this.deps.db
      .selectFrom('instances')
      .select('id')
      .where('project_id', '=', project.id)
      .where('name', '=', name)
      .executeTakeFirst();
    if (clash) throw refuse(`the project already has an instance named "${name}".`);
    const stage = stages.find((s) => s === labels['io.marina.stage']) ?? 'development';

    const conf = parseOdooConf(await runtime.readFile(orphan.name, '/etc/odoo/odoo.conf'));
    const dbName = conf.db_name ?? '';
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(dbName) || !conf.db_password || !conf.admin_passwd)
      throw refuse('its odoo.conf lacks db_name, db_password or admin_passwd.');
    const server = (await this.deps.db.selectFrom('database_servers').selectAll().execute()).find(
      (s) => s.internal_host === conf.db_host && String(s.internal_port) === (conf.db_port ?? '5432'),
    );
    if (!server) throw refuse(`its database server ${conf.db_host}:${conf.db_port} is not known to this Marina.`);
    // As the database's own role (Marina names it after the database), with the password Odoo uses:
    // nothing inside a tenant's database runs as superuser.
    const role = { ...(await this.deps.databaseServers.connection(server)), user: dbName, password: conf.db_password };
    const adminLogin = await withClient(role, dbName, async (c) => {
      const row = await c.query<{ login: string }>('SELECT login FROM res_users WHERE id = 2');
      return row.rows[0]?.login ?? 'unknown';
    });
    const volume = info.mounts.find((m) => m.target === '/var/lib/odoo' && m.type === 'volume')?.source;
    if (!volume) throw refuse('it has no filestore volume at /var/lib/odoo.');
    const port = Number(info.publishedPorts[8069]);
    const memoryMb = Math.round(info.memoryBytes / 2 ** 20) || 2048;
    const cpus = info.nanoCpus / 1e9 || 1;
    const instance = await this.deps.db.transaction().execute(async (trx) => {
      const adopted = await trx
        .insertInto('instances')
        .values({
          id,
          organization_id: project.organization_id,
          project_id: project.id,
          name,
          stage,
          odoo_version: labels['io.marina.version'] ?? project.odoo_version,
          host_id: orphan.hostId,
          database_server_id: server.id,
          db_name: dbName,
          db_password: this.deps.box.seal(conf.db_password ?? '', sealedAt('instances', 'db_password', id)),
          master_password: this.deps.box.seal(conf.admin_passwd ?? '', sealedAt('instances', 'master_password', id)),
          admin_login: adminLogin,
          admin_password: this.deps.box.seal('', sealedAt('instances', 'admin_password', id)),
          // An adopted database keeps its users: Marina never knew their passwords.
          admin_password_known: false,
          language: labels['io.marina.language'] ?? 'en_US',
          country: null,
          cpus,
          memory_mb: memoryMb,
          container_name: orphan.name,
          volume_name: volume,
          container_id: info.id,
          http_port: Number.isInteger(port) && port > 0 ? port : null,
          status: info.running ? 'running' : 'exited',
          started_at: info.running ? new Date(info.startedAt) : null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'instance.adopt',
          organizationId: project.organization_id,
          target: { type: 'instance', id, label: `${project.name}/${name}` },
          details: { container: orphan.name, hostId: orphan.hostId, database: dbName },
        },
        trx,
      );
      return adopted;
    });
    return instance;
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
    const runtime = await this.deps.hosts.reachableRuntime(orphan.hostId);
    if (orphan.kind === 'container') await runtime.remove(orphan.name);
    if (orphan.kind === 'volume') await runtime.removeVolume(orphan.name);
    if (orphan.kind === 'database') {
      const server = await this.deps.db
        .selectFrom('database_servers')
        .selectAll()
        .where('kind', '=', 'managed')
        .where('host_id', '=', orphan.hostId)
        .executeTakeFirstOrThrow();
      await dropDatabaseAndRole(await this.deps.databaseServers.connection(server), orphan.name);
    }
    await this.deps.audit.record(ctx, {
      action: 'platform.remove_orphan',
      target: { type: 'platform', id: orphan.name, label: `${orphan.kind} ${orphan.name}` },
      details: { kind: orphan.kind, hostId: orphan.hostId, madeFor: current.madeFor },
    });
  }
}
