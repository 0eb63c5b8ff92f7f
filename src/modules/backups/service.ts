import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileSha256 } from '../../adapters/archive/backup-file.js';
import { inspectOdooZip } from '../../adapters/archive/zip-reader.js';
import { withClient } from '../../adapters/postgres/admin.js';
import type { Db } from '../../db/database.js';
import {
  type Backup,
  type BackupFormat,
  type BackupKind,
  type BackupStatus,
  type BackupTrigger,
  type BackupVerification,
  backupFormats,
  backupKinds,
  backupTriggers,
  type Destination,
  type Instance,
  type LocalCopyStatus,
} from '../../db/schema.js';
import { ArchiveError, manifestMajor, parseManifest } from '../../odoo/backup-archive.js';
import { memberOrganizations, requireAccess } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { isUuid, oneOf } from '../../platform/validation.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { InstanceService, InstanceView, NewInstanceInput } from '../instances/service.js';
import type { CopyService, CopyView } from '../offsite/copies.js';
import type { DestinationService } from '../offsite/destinations.js';
import type { ImportLimitsService } from './import-limits.js';
import type { BackupStorage } from './storage.js';

export interface BackupView {
  id: string;
  organizationId: string;
  instanceId: string | null;
  instanceLabel: string;
  odooVersion: string;
  kind: BackupKind;
  format: BackupFormat;
  trigger: BackupTrigger;
  status: BackupStatus;
  sizeBytes: number | null;
  sha256: string | null;
  pinned: boolean;
  error: string | null;
  jobId: string | null;
  createdBy: string;
  createdAt: string;
  completedAt: string | null;
  /** The name a download gets. */
  downloadName: string;
  /** The file on this server: retention may remove it while verified offsite copies remain. */
  localStatus: LocalCopyStatus;
  copies: CopyView[];
  verification: BackupVerification | null;
}

export const backupSteps = {
  create: ['prepare', 'write', 'finish'],
} as const;

/** A backup job's steps: copies offsite and retention come after the local file verifies. */
export const createSteps = (opts: { upload: boolean; retention: boolean }): string[] => [
  ...backupSteps.create,
  ...(opts.upload ? ['upload'] : []),
  ...(opts.retention ? ['retention'] : []),
];

/** What a backup job is asked to do besides writing the file. */
export interface CreateJobInput {
  backupId: string;
  destinationIds?: string[];
  /** Scheduled runs apply the schedule's retention afterwards. */
  retention?: boolean;
}

/** Steps of a restore or clone into an instance: an existing one is stopped and backed up first. */
export function fillSteps(opts: { existing: boolean; verify: boolean; neutralize: boolean }): string[] {
  return [
    ...(opts.verify ? ['verify'] : []),
    ...(opts.existing ? ['stop', 'safety-backup'] : ['create']),
    'load',
    'swap',
    ...(opts.neutralize ? ['neutralize'] : []),
    'start',
    'health',
    // What the swap put aside (a new instance's empty database too) goes once Odoo is back:
    // deleting it is not downtime.
    'cleanup',
  ];
}

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

export interface BackupRun extends BackupView {
  startedAt: string | null;
  durationMs: number | null;
  problem: boolean;
}

function parseTime(value: string, field: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new MarinaError('MARINA_E_VALIDATION', `${field} must be a date and time (ISO 8601).`, { field });
  return date;
}

export interface DatabaseInfo {
  instanceId: string;
  sizeBytes: number | null;
  tables: number | null;
  filestoreBytes: number | null;
  lastBackup: BackupView | null;
}

/** A target for a restore, clone or import: an existing instance, or a new one to make. */
export interface FillTarget {
  instanceId?: unknown;
  newInstance?: unknown;
  neutralize?: unknown;
  confirm?: unknown;
}

const stamp = (d: Date) =>
  d
    .toISOString()
    .slice(0, 19)
    .replace(/[:T]/g, (c) => (c === 'T' ? '_' : ''));

function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean')
    throw new MarinaError('MARINA_E_VALIDATION', `${field} must be true or false.`, { field });
  return value;
}

/** Counts bytes and hashes them while an upload flows to disk; refuses past the limit. */
class UploadMeter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      done(
        new MarinaError(
          'MARINA_E_PAYLOAD_TOO_LARGE',
          `The upload is larger than the limit of ${Math.round(this.limit / 1024 / 1024)} MB (MARINA_UPLOAD_LIMIT_MB).`,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }
}

/**
 * Backups of instances: records, files in local storage, and the jobs that make, restore and
 * clone them. Anyone in the organization sees its backups; creating, downloading, restoring,
 * deleting and cloning need the admin role.
 */
export class BackupService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly operations: OperationService,
    private readonly runner: JobRunner,
    private readonly instances: InstanceService,
    private readonly databaseServers: DatabaseServerService,
    readonly storage: BackupStorage,
    private readonly uploadLimitBytes: number,
    readonly copies: CopyService,
    private readonly destinations: DestinationService,
    private readonly importLimits: ImportLimitsService,
  ) {}

  /** Views with their offsite copies. */
  async views(rows: readonly Backup[]): Promise<BackupView[]> {
    const copies = await this.copies.copiesOf(rows.map((r) => r.id));
    return rows.map((b) => ({ ...this.view(b), copies: copies.get(b.id) ?? [] }));
  }

  view(b: Backup): BackupView {
    const ext = b.format === 'zip' ? 'zip' : 'tar.zst';
    const label = b.instance_label.replace(/[^A-Za-z0-9_-]+/g, '-');
    return {
      id: b.id,
      organizationId: b.organization_id,
      instanceId: b.instance_id,
      instanceLabel: b.instance_label,
      odooVersion: b.odoo_version,
      kind: b.kind,
      format: b.format,
      trigger: b.trigger,
      status: b.status,
      sizeBytes: b.size_bytes === null ? null : Number(b.size_bytes),
      sha256: b.sha256,
      pinned: b.pinned,
      error: b.error,
      jobId: b.operation_id,
      createdBy: b.created_by,
      createdAt: b.created_at.toISOString(),
      completedAt: b.completed_at?.toISOString() ?? null,
      downloadName: `${label}-${stamp(b.created_at)}-${b.kind}.${ext}`,
      localStatus: b.local_status,
      copies: [],
      verification: b.verification,
    };
  }

  /** Marina's database, for jobs that record a backup inside their own work. */
  get database(): Db {
    return this.db;
  }

  async markRunning(id: string): Promise<void> {
    await this.db.updateTable('backups').set({ status: 'running', error: null }).where('id', '=', id).execute();
  }

  async markCompleted(id: string, result: { sha256: string; sizeBytes: number; manifest: object }): Promise<Backup> {
    return this.db
      .updateTable('backups')
      .set({
        status: 'completed',
        sha256: result.sha256,
        size_bytes: result.sizeBytes,
        manifest: JSON.stringify(result.manifest),
        completed_at: this.clock.now(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async recordVerification(id: string, verification: BackupVerification): Promise<void> {
    await this.db
      .updateTable('backups')
      .set({ verification: JSON.stringify(verification) })
      .where('id', '=', id)
      .execute();
  }

  async markFailed(id: string, message: string): Promise<void> {
    await this.db
      .updateTable('backups')
      .set({ status: 'failed', error: message.slice(0, 2000) })
      .where('id', '=', id)
      .where('status', '<>', 'completed')
      .execute();
  }

  /** A restore reads only a file whose size and sha256 are what was recorded when it was written. */
  async verifyFile(backup: Backup, onProgress?: (fraction: number) => void): Promise<void> {
    if (backup.status !== 'completed' || !backup.sha256)
      throw new MarinaError('MARINA_E_BACKUP_UNAVAILABLE', 'Only a completed backup can be restored.');
    const size = await this.storage.size(backup);
    if (size !== Number(backup.size_bytes))
      throw new MarinaError(
        'MARINA_E_BACKUP_UNAVAILABLE',
        size === undefined
          ? 'The backup file is missing.'
          : `The backup file has ${size} bytes instead of ${backup.size_bytes}.`,
      );
    const total = Math.max(1, size);
    const sha = await fileSha256(this.storage.pathOf(backup), (bytes) => onProgress?.(bytes / total));
    if (sha !== backup.sha256)
      throw new MarinaError(
        'MARINA_E_BACKUP_UNAVAILABLE',
        `The backup file is damaged: its sha256 is ${sha}, not ${backup.sha256}. Nothing was changed.`,
      );
  }

  async row(id: string): Promise<Backup> {
    const backup = await this.db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
    if (!backup) throw notFound('Backup');
    return backup;
  }

  async get(actor: Actor, id: string, minimum: 'member' | 'admin' = 'member'): Promise<Backup> {
    if (!isUuid(id)) throw notFound('Backup');
    const backup = await this.db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
    if (!backup) throw notFound('Backup');
    await requireAccess(this.db, actor, backup.organization_id, 'member', 'Backup');
    if (minimum === 'admin') await requireAccess(this.db, actor, backup.organization_id, 'admin', 'Backup');
    return backup;
  }

  async list(actor: Actor, filter: BackupFilter): Promise<BackupView[]> {
    let q = this.db.selectFrom('backups').selectAll();
    if (filter.instanceId) {
      const instance = await this.instances.get(actor, filter.instanceId);
      q = q.where('instance_id', '=', instance.id);
    } else if (filter.organizationId) {
      if (!isUuid(filter.organizationId)) throw notFound('Organization');
      await requireAccess(this.db, actor, filter.organizationId, 'member');
      q = q.where('organization_id', '=', filter.organizationId);
    } else if (actor.kind === 'user' && !actor.isPlatformAdmin) {
      q = q.where('organization_id', 'in', memberOrganizations(this.db, actor));
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
    let q = this.db
      .selectFrom('backups')
      .leftJoin('operations', 'operations.id', 'backups.operation_id')
      .selectAll('backups')
      .select(['operations.started_at as job_started_at', 'operations.finished_at as job_finished_at']);
    if (filter.instanceId) {
      const instance = await this.instances.get(actor, filter.instanceId);
      q = q.where('backups.instance_id', '=', instance.id);
    } else if (filter.organizationId) {
      if (!isUuid(filter.organizationId)) throw notFound('Organization');
      await requireAccess(this.db, actor, filter.organizationId, 'member');
      q = q.where('backups.organization_id', '=', filter.organizationId);
    } else if (actor.kind === 'user' && !actor.isPlatformAdmin) {
      q = q.where('backups.organization_id', 'in', memberOrganizations(this.db, actor));
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
      const failedCopies = view.copies.filter((c) => c.status === 'failed');
      return {
        ...view,
        startedAt: r.job_started_at?.toISOString() ?? null,
        durationMs:
          r.job_started_at && r.job_finished_at ? r.job_finished_at.getTime() - r.job_started_at.getTime() : null,
        problem: r.status === 'failed' || failedCopies.length > 0,
      };
    });
  }

  /** Records a backup (pending) for a job to write; the caller queues or runs the job. */
  async record(
    db: Db,
    instance: Instance,
    fields: {
      kind: BackupKind;
      format: BackupFormat;
      trigger: BackupTrigger;
      createdBy: string;
      operationId: string | null;
    },
  ): Promise<Backup> {
    const id = randomUUID();
    const label = await this.labelOf(instance);
    return db
      .insertInto('backups')
      .values({
        id,
        organization_id: instance.organization_id,
        instance_id: instance.id,
        instance_label: label,
        odoo_version: instance.odoo_version,
        kind: fields.kind,
        format: fields.format,
        trigger: fields.trigger,
        status: 'pending',
        file_name: this.storage.fileName(instance.id, id, fields.format),
        created_by: fields.createdBy,
        operation_id: fields.operationId,
        created_at: this.clock.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async labelOf(instance: Instance): Promise<string> {
    const project = await this.db
      .selectFrom('projects')
      .select('name')
      .where('id', '=', instance.project_id)
      .executeTakeFirstOrThrow();
    return `${project.name}/${instance.name}`;
  }

  private requireHasData(instance: Instance): void {
    if (['provisioning', 'failed', 'deleting', 'restoring'].includes(instance.status)) {
      throw new MarinaError(
        'MARINA_E_INVALID_STATE',
        `The instance is ${instance.status}; it has no data to back up now.`,
      );
    }
  }

  async create(
    ctx: RequestContext,
    instanceId: string,
    input: { kind?: unknown; format?: unknown; destinationIds?: unknown },
  ): Promise<{ backup: BackupView; job: OperationView }> {
    const instance = await this.instances.get(ctx.actor, instanceId);
    await requireAccess(this.db, ctx.actor, instance.organization_id, 'admin', 'Instance');
    const kind = oneOf(input.kind, backupKinds, 'kind', 'full');
    const format = oneOf(input.format, backupFormats, 'format', 'zip');
    const ids = input.destinationIds ?? [];
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string') || ids.length > 10)
      throw new MarinaError('MARINA_E_VALIDATION', 'destinationIds must be a list of up to 10 destination ids.', {
        field: 'destinationIds',
      });
    const destinations = await this.destinations.usableBy(instance.organization_id, [...new Set(ids as string[])]);
    return this.submitCreate(ctx, instance, { kind, format, trigger: 'manual', destinations, retention: false });
  }

  /** Queues a backup job: the pending record, its planned copies, the job, the audit entry — together. */
  async submitCreate(
    ctx: RequestContext,
    instance: Instance,
    spec: {
      kind: BackupKind;
      format: BackupFormat;
      trigger: BackupTrigger;
      destinations: readonly Destination[];
      retention: boolean;
    },
  ): Promise<{ backup: BackupView; job: OperationView }> {
    const { kind, format, destinations } = spec;
    this.requireHasData(instance);
    await this.instances.requireIdle(instance);
    const label = await this.labelOf(instance);
    const { backup, op } = await this.db.transaction().execute(async (trx) => {
      const op = await this.operations.insert(trx, ctx.actor, {
        kind: 'backup.create',
        organizationId: instance.organization_id,
        hostId: instance.host_id,
        target: { type: 'instance', id: instance.id, label },
        steps: createSteps({ upload: destinations.length > 0, retention: spec.retention }),
      });
      const backup = await this.record(trx, instance, {
        kind,
        format,
        trigger: spec.trigger,
        createdBy: actorLabel(ctx.actor),
        operationId: op.id,
      });
      const withInput = await trx
        .updateTable('operations')
        .set({
          input: JSON.stringify({
            backupId: backup.id,
            destinationIds: destinations.map((d) => d.id),
            retention: spec.retention,
          } satisfies CreateJobInput),
        })
        .where('id', '=', op.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.audit.record(
        ctx,
        {
          action: 'backup.create',
          organizationId: instance.organization_id,
          target: { type: 'backup', id: backup.id, label },
          details: {
            kind,
            format,
            trigger: spec.trigger,
            instance: instance.id,
            job: op.id,
            destinations: destinations.map((d) => d.name),
          },
        },
        trx,
      );
      return { backup, op: withInput };
    });
    await this.copies.plan(backup, destinations);
    await this.runner.enqueue(op);
    return { backup: (await this.views([backup]))[0] as BackupView, job: operationView(op) };
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    const backup = await this.get(ctx.actor, id, 'admin');
    if (backup.pinned) throw new MarinaError('MARINA_E_PINNED');
    if (backup.status === 'running' || backup.status === 'pending')
      throw new MarinaError('MARINA_E_INVALID_STATE', 'This backup is still being written; wait for its job.');
    await this.removeRecordAndCopies(ctx, backup);
  }

  /**
   * Offsite copies go first: one that cannot be removed keeps the record (and says why), so no
   * object is left in a bucket that Marina no longer knows about.
   */
  async removeRecordAndCopies(ctx: RequestContext, backup: Backup): Promise<void> {
    const problems = await this.copies.removeAll(backup);
    if (problems.length)
      throw new MarinaError(
        'MARINA_E_STORAGE',
        `The backup was kept: an offsite copy could not be removed (${problems[0]}). Try again.`,
      );
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('backups').where('id', '=', backup.id).execute();
      await this.audit.record(
        ctx,
        {
          action: 'backup.delete',
          organizationId: backup.organization_id,
          target: { type: 'backup', id: backup.id, label: backup.instance_label },
          details: { kind: backup.kind, format: backup.format, sizeBytes: Number(backup.size_bytes ?? 0) },
        },
        trx,
      );
    });
    // The record goes first: a file without a record is swept, a record without a file would lie.
    await this.storage.remove(backup);
  }

  async pin(ctx: RequestContext, id: string, pinned: unknown): Promise<BackupView> {
    const value = optionalBoolean(pinned, 'pinned') ?? true;
    const backup = await this.get(ctx.actor, id, 'admin');
    const updated = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('backups')
        .set({ pinned: value })
        .where('id', '=', backup.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.audit.record(
        ctx,
        {
          action: value ? 'backup.pin' : 'backup.unpin',
          organizationId: backup.organization_id,
          target: { type: 'backup', id: backup.id, label: backup.instance_label },
        },
        trx,
      );
      return row;
    });
    return (await this.views([updated]))[0] as BackupView;
  }

  /** What a download needs: the file, its size and name. Audited: a download carries all the data. */
  async download(
    ctx: RequestContext,
    id: string,
  ): Promise<{
    path: string;
    size: number;
    name: string;
    sha256: string;
    /** Set when the local file is gone: the bytes come from an offsite copy, decrypted on the fly. */
    remote?: () => Promise<Readable>;
  }> {
    const backup = await this.get(ctx.actor, id, 'admin');
    if (backup.status !== 'completed' || !backup.sha256)
      throw new MarinaError(
        'MARINA_E_BACKUP_UNAVAILABLE',
        'This backup is not completed; there is nothing to download.',
      );
    const size = await this.storage.size(backup);
    let remote: (() => Promise<Readable>) | undefined;
    if (backup.local_status === 'deleted' && size === undefined)
      remote = () =>
        this.copies.openRemoteVerified(backup, (destination, found) => {
          void this.audit
            .record(ctx, {
              action: 'backup.download.mismatch',
              organizationId: backup.organization_id,
              target: { type: 'backup', id: backup.id, label: backup.instance_label },
              details: {
                destination: destination.name,
                expected: backup.sha256,
                found: found.sha256,
                bytes: found.bytes,
              },
            })
            .catch(() => undefined);
        });
    else if (size === undefined || size !== Number(backup.size_bytes))
      throw new MarinaError('MARINA_E_BACKUP_UNAVAILABLE', 'The backup file is missing or has the wrong size.');
    await this.audit.record(ctx, {
      action: 'backup.download',
      organizationId: backup.organization_id,
      target: { type: 'backup', id: backup.id, label: backup.instance_label },
    });
    return {
      path: this.storage.pathOf(backup),
      size: Number(backup.size_bytes),
      name: this.view(backup).downloadName,
      sha256: backup.sha256,
      remote,
    };
  }

  /**
   * Resolves where a restore, clone or import goes: an existing instance of the same organization
   * and Odoo version (production needs its name typed in `confirm`), or a new instance to create.
   */
  private async resolveTarget(
    ctx: RequestContext,
    organizationId: string,
    odooVersion: string,
    input: FillTarget,
    defaultInstanceId: string | null,
  ): Promise<{ existing?: Instance; fresh?: Awaited<ReturnType<InstanceService['validateNew']>> }> {
    if (input.newInstance !== undefined) {
      if (input.instanceId !== undefined)
        throw new MarinaError('MARINA_E_VALIDATION', 'Give either instanceId or newInstance, not both.', {
          field: 'instanceId',
        });
      if (typeof input.newInstance !== 'object' || input.newInstance === null)
        throw new MarinaError('MARINA_E_VALIDATION', 'newInstance must be an object.', { field: 'newInstance' });
      const fields = await this.instances.validateNew(ctx, input.newInstance as NewInstanceInput);
      if (fields.project.organization_id !== organizationId)
        throw new MarinaError('MARINA_E_VALIDATION', 'The new instance must belong to the same organization.', {
          field: 'newInstance.project',
        });
      if (fields.project.odoo_version !== odooVersion)
        throw new MarinaError(
          'MARINA_E_VALIDATION',
          `This data is Odoo ${odooVersion}; the project runs Odoo ${fields.project.odoo_version}.`,
          { field: 'newInstance.project' },
        );
      return { fresh: fields };
    }
    const targetId = input.instanceId ?? defaultInstanceId;
    if (typeof targetId !== 'string')
      throw new MarinaError('MARINA_E_VALIDATION', 'Say where to restore: instanceId or newInstance.', {
        field: 'instanceId',
      });
    const existing = await this.instances.get(ctx.actor, targetId);
    await requireAccess(this.db, ctx.actor, existing.organization_id, 'admin', 'Instance');
    if (existing.organization_id !== organizationId) throw notFound('Instance');
    if (existing.odoo_version !== odooVersion)
      throw new MarinaError(
        'MARINA_E_VALIDATION',
        `This data is Odoo ${odooVersion}; the instance runs Odoo ${existing.odoo_version}.`,
        { field: 'instanceId' },
      );
    if (existing.status === 'failed' || existing.status === 'provisioning')
      throw new MarinaError('MARINA_E_INVALID_STATE', `The instance is ${existing.status}.`);
    this.instances.requireConfirmation(existing, input.confirm);
    await this.instances.requireIdle(existing);
    return { existing };
  }

  /** Submits a restore or clone job into the resolved target. */
  private async submitFill(
    ctx: RequestContext,
    target: Awaited<ReturnType<BackupService['resolveTarget']>>,
    job: {
      kind: 'backup.restore' | 'instance.clone';
      verify: boolean;
      copy: boolean;
      input: Record<string, unknown>;
      defer?: boolean;
    },
    neutralizeInput: unknown,
    clonedFrom: string | null,
    details: Record<string, unknown>,
  ): Promise<{ job: OperationView; instance: InstanceView; credentials?: unknown }> {
    const stage = target.existing?.stage ?? target.fresh?.stage ?? 'production';
    const neutralize = job.copy && (optionalBoolean(neutralizeInput, 'neutralize') ?? stage !== 'production');
    const steps = fillSteps({ existing: Boolean(target.existing), verify: job.verify, neutralize });
    const input = { ...job.input, copy: job.copy, neutralize };
    if (target.fresh) {
      const created = await this.instances.insertNew(
        ctx,
        target.fresh,
        { kind: job.kind, steps, input, defer: job.defer },
        clonedFrom,
      );
      return { job: created.job, instance: created.instance };
    }
    const existing = target.existing as Instance;
    const op = await this.instances.submit(ctx, existing, job.kind, steps, job.kind, {
      input,
      details,
      defer: job.defer,
    });
    await this.instances.setStatus(
      existing.id,
      'restoring',
      `${job.kind === 'instance.clone' ? 'clone' : 'restore'} queued`,
    );
    return { job: op, instance: this.instances.view(await this.instances.row(existing.id)) };
  }

  async restore(
    ctx: RequestContext,
    id: string,
    input: FillTarget,
  ): Promise<{ job: OperationView; instance: InstanceView }> {
    const backup = await this.get(ctx.actor, id, 'admin');
    if (backup.status !== 'completed')
      throw new MarinaError('MARINA_E_BACKUP_UNAVAILABLE', 'Only a completed backup can be restored.');
    const target = await this.resolveTarget(
      ctx,
      backup.organization_id,
      backup.odoo_version,
      input,
      backup.instance_id,
    );
    if (target.fresh && backup.kind === 'filestore')
      throw new MarinaError('MARINA_E_VALIDATION', 'A filestore-only backup cannot make a new instance.', {
        field: 'newInstance',
      });
    // A backup of the instance itself brings it back; anything else makes a copy with its own identity.
    const copy = target.existing?.id !== backup.instance_id || backup.trigger === 'import';
    return this.submitFill(
      ctx,
      target,
      { kind: 'backup.restore', verify: true, copy, input: { backupId: backup.id } },
      input.neutralize,
      target.fresh ? backup.instance_id : null,
      { backup: backup.id },
    );
  }

  async clone(
    ctx: RequestContext,
    sourceId: string,
    input: FillTarget & { filestore?: unknown },
  ): Promise<{ job: OperationView; instance: InstanceView }> {
    const source = await this.instances.get(ctx.actor, sourceId);
    await requireAccess(this.db, ctx.actor, source.organization_id, 'admin', 'Instance');
    this.requireHasData(source);
    if (input.newInstance === undefined && input.instanceId === undefined)
      throw new MarinaError('MARINA_E_VALIDATION', 'Say where to clone to: instanceId or newInstance.', {
        field: 'instanceId',
      });
    if (input.instanceId === source.id)
      throw new MarinaError('MARINA_E_VALIDATION', 'An instance cannot be cloned into itself.', {
        field: 'instanceId',
      });
    const filestore = optionalBoolean(input.filestore, 'filestore') ?? true;
    const target = await this.resolveTarget(ctx, source.organization_id, source.odoo_version, input, null);
    return this.submitFill(
      ctx,
      target,
      { kind: 'instance.clone', verify: false, copy: true, input: { sourceId: source.id, filestore } },
      input.neutralize,
      source.id,
      { source: source.id, filestore },
    );
  }

  /**
   * An Odoo zip (database manager, Odoo.sh or Marina) streamed to disk under the size limit,
   * checked whole — names, CRCs, manifest, dump.sql — kept as a backup, then restored into the target.
   */
  async importZip(
    ctx: RequestContext,
    body: Readable,
    input: FillTarget & { organizationId?: unknown },
  ): Promise<{ job: OperationView; instance: InstanceView; backup: BackupView }> {
    // The target is checked before a byte is stored: a refused import costs no disk.
    const probe = await this.importTargetOrganization(ctx, input);
    const release = await this.importLimits.begin(probe);
    const uploadId = randomUUID();
    const uploadPath = this.storage.uploadPath(uploadId);
    const meter = new UploadMeter(this.uploadLimitBytes);
    try {
      await mkdir(dirname(uploadPath), { recursive: true, mode: 0o700 });
      await pipeline(body, meter, createWriteStream(uploadPath, { flags: 'wx', mode: 0o600, flush: true }));
      let summary: Awaited<ReturnType<typeof inspectOdooZip>>;
      try {
        // Sizes, entry count and ratios are checked here, inflating into nothing: the restore
        // that writes to the instance only ever sees an archive that passed.
        summary = await inspectOdooZip(uploadPath, await this.importLimits.get());
      } catch (error) {
        if (error instanceof ArchiveError)
          throw new MarinaError(
            error.reason === 'too-large' ? 'MARINA_E_ARCHIVE_TOO_LARGE' : 'MARINA_E_ARCHIVE_INVALID',
            error.message,
          );
        throw error;
      }
      if (summary.manifest === undefined)
        throw new MarinaError('MARINA_E_ARCHIVE_INVALID', 'The archive has no manifest.json: it was not made by Odoo.');
      if (!summary.hasDump)
        throw new MarinaError(
          'MARINA_E_ARCHIVE_INVALID',
          'The archive has no dump.sql: there is no database to import.',
        );
      let manifest: ReturnType<typeof parseManifest>;
      try {
        manifest = parseManifest(summary.manifest);
      } catch (error) {
        throw new MarinaError('MARINA_E_ARCHIVE_INVALID', (error as Error).message);
      }
      const version = manifestMajor(manifest);
      if (!version)
        throw new MarinaError(
          'MARINA_E_ARCHIVE_INVALID',
          `manifest.json names an unknown Odoo version (${manifest.version}).`,
        );
      const target = await this.resolveTarget(ctx, probe, version, input, null);
      const sha256 = meter.hash.digest('hex');
      // The archive becomes a backup of the target: kept, listed, restorable again.
      const instanceForRecord = target.existing;
      const result = await this.submitFill(
        ctx,
        target,
        { kind: 'backup.restore', verify: true, copy: true, input: {}, defer: true },
        input.neutralize,
        null,
        { import: uploadId },
      );
      const instance = instanceForRecord ?? (await this.instances.row(result.instance.id));
      const backup = await this.record(this.db, instance, {
        kind: summary.filestoreFiles > 0 ? 'full' : 'database',
        format: 'zip',
        trigger: 'import',
        createdBy: actorLabel(ctx.actor),
        operationId: result.job.id,
      });
      await mkdir(dirname(this.storage.pathOf(backup)), { recursive: true, mode: 0o700 });
      await rename(uploadPath, this.storage.pathOf(backup));
      const completed = await this.db
        .updateTable('backups')
        .set({
          status: 'completed',
          sha256,
          size_bytes: meter.bytes,
          completed_at: this.clock.now(),
          manifest: JSON.stringify(manifest),
        })
        .where('id', '=', backup.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.db
        .updateTable('operations')
        .set({ input: JSON.stringify({ ...(await this.inputOf(result.job.id)), backupId: backup.id }) })
        .where('id', '=', result.job.id)
        .execute();
      await this.audit.record(ctx, {
        action: 'backup.import',
        organizationId: instance.organization_id,
        target: { type: 'backup', id: backup.id, label: completed.instance_label },
        details: {
          sizeBytes: meter.bytes,
          dbName: manifest.db_name,
          version,
          instance: instance.id,
          job: result.job.id,
        },
      });
      await this.runner.enqueue(await this.operationRow(result.job.id));
      return { job: result.job, instance: result.instance, backup: this.view(completed) };
    } finally {
      // From here on the restore job (queued above) holds the organization's import slot.
      release();
      await rm(uploadPath, { force: true });
    }
  }

  private async importTargetOrganization(ctx: RequestContext, input: FillTarget): Promise<string> {
    if (typeof input.instanceId === 'string') {
      const instance = await this.instances.get(ctx.actor, input.instanceId);
      await requireAccess(this.db, ctx.actor, instance.organization_id, 'admin', 'Instance');
      return instance.organization_id;
    }
    const project = (input.newInstance as { project?: unknown } | undefined)?.project;
    if (typeof project !== 'string')
      throw new MarinaError('MARINA_E_VALIDATION', 'Say where to import: instanceId, or newInstance with a project.', {
        field: 'newInstance.project',
      });
    const fields = await this.instances.validateNew(ctx, input.newInstance as NewInstanceInput);
    return fields.project.organization_id;
  }

  private async inputOf(operationId: string): Promise<Record<string, unknown>> {
    return (await this.operationRow(operationId)).input as Record<string, unknown>;
  }

  private operationRow(id: string) {
    return this.db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  /** Size, table count and last backup of an instance's database, for the clone page's cards. */
  async databaseInfo(actor: Actor, instanceId: string): Promise<DatabaseInfo> {
    const instance = await this.instances.get(actor, instanceId);
    const last = await this.db
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
        const connection = await this.databaseServers.forInstance(instance);
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
    return { instanceId: instance.id, sizeBytes, tables, filestoreBytes, lastBackup: last ? this.view(last) : null };
  }

  /**
   * After a restart: backups whose job is no longer running are failed (their partial files go),
   * and partial files nobody writes are removed. Nothing half-written is ever listed as completed.
   */
  async sweep(): Promise<void> {
    const stale = await this.db
      .selectFrom('backups')
      .leftJoin('operations', 'operations.id', 'backups.operation_id')
      .select(['backups.id', 'backups.file_name'])
      .where('backups.status', 'in', ['pending', 'running'])
      .where((eb) =>
        eb.or([eb('operations.status', 'is', null), eb('operations.status', 'not in', ['queued', 'running'])]),
      )
      .execute();
    for (const backup of stale) {
      await this.db
        .updateTable('backups')
        .set({ status: 'failed', error: 'Marina stopped while this backup was being written.' })
        .where('id', '=', backup.id)
        .execute();
      await this.storage.remove(backup);
    }
    await this.storage.sweepUploads();
  }
}

export const actorLabel = (actor: Actor) => (actor.kind === 'user' ? actor.email : actor.label);
