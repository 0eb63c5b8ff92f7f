import type { Static } from 'typebox';
import { withClient } from '../../adapters/postgres/admin.js';
import type { Db } from '../../db/database.js';
import { type Backup, backupKinds, backupTriggers, type Instance } from '../../db/schema.js';
import { memberOrganizations, requireAccess } from '../../platform/access.js';
import type { Actor } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import { isUuid, oneOf } from '../../platform/validation.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { InstanceService } from '../instances/service.js';
import type { CopyService } from '../offsite/copies.js';
import { isProblem, runStateOf } from '../offsite/run-state.js';
import type { DatabaseInfo as DatabaseInfoSchema } from './schemas.js';
import { type BackupRun, type BackupView, backupView } from './views.js';

export interface BackupFilter {
  instanceId?: string;
  organizationId?: string;
  kind?: string;
  status?: string;
  trigger?: string;
  pinned?: boolean;
  limit?: number;
}

export interface RunFilter {
  instanceId?: string;
  organizationId?: string;
  /** A backup status, or "problem": the backup or one of its copies failed. */
  status?: string;
  trigger?: string;
  since?: string;
  until?: string;
  limit?: number;
}

function parseTime(value: string, field: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new MarinaError('MARINA_E_VALIDATION', `${field} must be a date and time (ISO 8601).`, { field });
  return date;
}

/** The facts shown beside an instance's backups (the `DatabaseInfo` schema). */
export type DatabaseInfo = Static<typeof DatabaseInfoSchema>;

/** "project/instance": how a backup names the instance it was made of, for as long as it exists. */
export async function instanceLabel(db: Db, instance: Instance): Promise<string> {
  const project = await db
    .selectFrom('projects')
    .select('name')
    .where('id', '=', instance.project_id)
    .executeTakeFirstOrThrow();
  return `${project.name}/${instance.name}`;
}

export interface BackupQueriesDeps {
  db: Db;
  instances: InstanceService;
  databaseServers: DatabaseServerService;
  copies: CopyService;
}

/** What can be read about backups: one, lists, history, and the database facts shown beside them. */
export class BackupQueries {
  constructor(private readonly deps: BackupQueriesDeps) {}

  /** Views with their offsite copies. */
  async views(rows: readonly Backup[]): Promise<BackupView[]> {
    const copies = await this.deps.copies.copiesOf(rows.map((r) => r.id));
    return rows.map((b) => {
      const own = copies.get(b.id) ?? [];
      return { ...backupView(b), copies: own, runState: runStateOf(b.status, own) };
    });
  }

  labelOf(instance: Instance): Promise<string> {
    return instanceLabel(this.deps.db, instance);
  }

  async row(id: string): Promise<Backup> {
    const backup = await this.deps.db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
    if (!backup) throw notFound('Backup');
    return backup;
  }

  async get(actor: Actor, id: string, minimum: 'viewer' | 'admin' = 'viewer'): Promise<Backup> {
    if (!isUuid(id)) throw notFound('Backup');
    const backup = await this.deps.db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
    if (!backup) throw notFound('Backup');
    await requirePermissionOn(this.deps.db, actor, backup, 'backup.view', 'Backup');
    if (minimum === 'admin') await requirePermissionOn(this.deps.db, actor, backup, 'backup.manage', 'Backup');
    return backup;
  }

  async list(actor: Actor, filter: BackupFilter): Promise<BackupView[]> {
    let q = this.deps.db.selectFrom('backups').selectAll();
    if (filter.instanceId) {
      const instance = await this.deps.instances.get(actor, filter.instanceId);
      q = q.where('instance_id', '=', instance.id);
    } else if (filter.organizationId) {
      if (!isUuid(filter.organizationId)) throw notFound('Organization');
      await requireAccess(this.deps.db, actor, filter.organizationId, 'viewer');
      q = q.where('organization_id', '=', filter.organizationId);
    } else if (actor.kind === 'user' && !actor.isPlatformAdmin) {
      q = q.where('organization_id', 'in', memberOrganizations(this.deps.db, actor));
    }
    if (filter.kind !== undefined) q = q.where('kind', '=', oneOf(filter.kind, backupKinds, 'kind'));
    if (filter.status !== undefined)
      q = q.where(
        'status',
        '=',
        oneOf(filter.status, ['pending', 'running', 'completed', 'failed'] as const, 'status'),
      );
    if (filter.trigger !== undefined) q = q.where('trigger', '=', oneOf(filter.trigger, backupTriggers, 'trigger'));
    if (filter.pinned !== undefined) q = q.where('pinned', '=', filter.pinned);
    const rows = await q
      .orderBy('created_at', 'desc')
      .limit(Math.min(500, filter.limit ?? 200))
      .execute();
    return this.views(rows);
  }

  /**
   * History: every backup run (scheduled, manual, safety, import) with its job's timing and its
   * copies, newest first. Filters: instance or organization, status, trigger, a time window.
   */
  async runs(actor: Actor, filter: RunFilter): Promise<BackupRun[]> {
    const since = filter.since === undefined ? undefined : parseTime(filter.since, 'since');
    const until = filter.until === undefined ? undefined : parseTime(filter.until, 'until');
    let q = this.deps.db
      .selectFrom('backups')
      .leftJoin('operations', 'operations.id', 'backups.operation_id')
      .selectAll('backups')
      .select(['operations.started_at as job_started_at', 'operations.finished_at as job_finished_at']);
    if (filter.instanceId) {
      const instance = await this.deps.instances.get(actor, filter.instanceId);
      q = q.where('backups.instance_id', '=', instance.id);
    } else if (filter.organizationId) {
      if (!isUuid(filter.organizationId)) throw notFound('Organization');
      await requireAccess(this.deps.db, actor, filter.organizationId, 'viewer');
      q = q.where('backups.organization_id', '=', filter.organizationId);
    } else if (actor.kind === 'user' && !actor.isPlatformAdmin) {
      q = q.where('backups.organization_id', 'in', memberOrganizations(this.deps.db, actor));
    }
    if (filter.status === 'problem') {
      // A run is a problem when the backup failed or any of its copies did.
      q = q.where((eb) =>
        eb.or([
          eb('backups.status', '=', 'failed'),
          eb.exists(
            eb
              .selectFrom('backup_copies')
              .select('backup_copies.id')
              .whereRef('backup_copies.backup_id', '=', 'backups.id')
              .where('backup_copies.status', '=', 'failed'),
          ),
        ]),
      );
    } else if (filter.status !== undefined)
      q = q.where(
        'backups.status',
        '=',
        oneOf(filter.status, ['pending', 'running', 'completed', 'failed'] as const, 'status'),
      );
    if (filter.trigger !== undefined)
      q = q.where('backups.trigger', '=', oneOf(filter.trigger, backupTriggers, 'trigger'));
    if (since) q = q.where('backups.created_at', '>=', since);
    if (until) q = q.where('backups.created_at', '<', until);
    const rows = await q
      .orderBy('backups.created_at', 'desc')
      .limit(Math.min(500, filter.limit ?? 100))
      .execute();
    const views = await this.views(rows);
    return rows.map((r, i) => {
      const view = views[i] as BackupView;
      return {
        ...view,
        startedAt: r.job_started_at?.toISOString() ?? null,
        durationMs:
          r.job_started_at && r.job_finished_at ? r.job_finished_at.getTime() - r.job_started_at.getTime() : null,
        problem: isProblem(view.runState),
      };
    });
  }

  /** Size, table count and last backup of an instance's database, for the clone page's cards. */
  async databaseInfo(actor: Actor, instanceId: string): Promise<DatabaseInfo> {
    const instance = await this.deps.instances.get(actor, instanceId);
    const last = await this.deps.db
      .selectFrom('backups')
      .selectAll()
      .where('instance_id', '=', instance.id)
      .where('status', '=', 'completed')
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    let sizeBytes: number | null = null;
    let tables: number | null = null;
    let filestoreBytes: number | null = null;
    if (instance.database_server_id && !['provisioning', 'failed'].includes(instance.status)) {
      try {
        // As the instance's role: the tenant's views and search_path must not run as superuser.
        const connection = await this.deps.databaseServers.forInstance(instance);
        await withClient(connection, instance.db_name, async (c) => {
          sizeBytes = Number(
            (await c.query<{ s: string }>('select pg_database_size(current_database())::text as s')).rows[0]?.s,
          );
          tables = Number(
            (
              await c.query<{ n: string }>(
                "select count(*)::text as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')",
              )
            ).rows[0]?.n,
          );
          filestoreBytes = Number(
            (
              await c
                .query<{ b: string | null }>(
                  'select sum(file_size)::text as b from ir_attachment where store_fname is not null',
                )
                .catch(() => ({ rows: [{ b: null }] }))
            ).rows[0]?.b ?? 0,
          );
        });
      } catch {
        // The cards say "unknown" rather than fail the page when the database does not answer.
      }
    }
    return { instanceId: instance.id, sizeBytes, tables, filestoreBytes, lastBackup: last ? backupView(last) : null };
  }
}
