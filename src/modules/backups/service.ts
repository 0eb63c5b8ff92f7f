import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fileSha256 } from '../../adapters/archive/backup-file.js';
import type { Db } from '../../db/database.js';
import {
  type Backup,
  type BackupFormat,
  type BackupKind,
  type BackupTrigger,
  type BackupVerification,
  backupFormats,
  backupKinds,
  type Destination,
  type Instance,
} from '../../db/schema.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { planJob } from '../../platform/jobs/define.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import { oneOf } from '../../platform/validation.js';
import type { InstanceService, InstanceView } from '../instances/service.js';
import type { CopyService } from '../offsite/copies.js';
import type { DestinationService } from '../offsite/destinations.js';
import { holdsCustomDump } from './dump-download.js';
import type { BackupImports } from './imports.js';
import { createBackupJob, exportDumpJob } from './jobs/specs.js';
import type { BackupQueries } from './queries.js';
import type { BackupStorage } from './storage.js';
import { type FillTarget, type FillTargets, optionalBoolean } from './targets.js';
import { actorLabel, type BackupView, backupView } from './views.js';
import type { BackupWriter } from './writer.js';

export interface BackupServiceDeps {
  db: Db;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  instances: InstanceService;
  storage: BackupStorage;
  copies: CopyService;
  destinations: DestinationService;
  queries: BackupQueries;
  writer: BackupWriter;
  targets: FillTargets;
  imports: BackupImports;
}

/**
 * Backups of instances: the commands on them (make, remove, pin, download, restore, clone,
 * import). Anyone in the organization sees its backups; creating, downloading, restoring,
 * deleting and cloning need the admin role. Reads are in `queries`, record writes in `writer`.
 */
export class BackupService {
  readonly storage: BackupStorage;
  readonly copies: CopyService;
  readonly queries: BackupQueries;
  readonly writer: BackupWriter;

  constructor(private readonly deps: BackupServiceDeps) {
    this.storage = deps.storage;
    this.copies = deps.copies;
    this.queries = deps.queries;
    this.writer = deps.writer;
  }

  // What the backup jobs read and write, by the names they use.

  /** Marina's database, for jobs that record a backup inside their own work. */
  get database(): Db {
    return this.deps.db;
  }

  row(id: string): Promise<Backup> {
    return this.queries.row(id);
  }

  get(actor: Actor, id: string, minimum: 'viewer' | 'admin' = 'viewer'): Promise<Backup> {
    return this.queries.get(actor, id, minimum);
  }

  views(rows: readonly Backup[]): Promise<BackupView[]> {
    return this.queries.views(rows);
  }

  labelOf(instance: Instance): Promise<string> {
    return this.queries.labelOf(instance);
  }

  record(db: Db, instance: Instance, fields: Parameters<BackupWriter['record']>[2]): Promise<Backup> {
    return this.writer.record(db, instance, fields);
  }

  markRunning(id: string): Promise<void> {
    return this.writer.markRunning(id);
  }

  markCompleted(id: string, result: { sha256: string; sizeBytes: number; manifest: object }): Promise<Backup> {
    return this.writer.markCompleted(id, result);
  }

  recordVerification(id: string, verification: BackupVerification): Promise<void> {
    return this.writer.recordVerification(id, verification);
  }

  markFailed(id: string, message: string, options?: { evenIfCompleted?: boolean }): Promise<void> {
    return this.writer.markFailed(id, message, options);
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

  private requireHasData(instance: Instance): void {
    if (['provisioning', 'failed', 'deleting', 'restoring'].includes(instance.status)) {
      // A failed instance never got its data; the others have a job at work on it.
      throw new MarinaError(
        instance.status === 'failed' ? 'MARINA_E_INSTANCE_FAILED' : 'MARINA_E_INSTANCE_BUSY',
        `The instance is ${instance.status}; it has no data to back up now.`,
      );
    }
  }

  async create(
    ctx: RequestContext,
    instanceId: string,
    input: { kind?: unknown; format?: unknown; destinationIds?: unknown },
  ): Promise<{ backup: BackupView; job: OperationView }> {
    const instance = await this.deps.instances.get(ctx.actor, instanceId);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'backup.manage');
    const kind = oneOf(input.kind, backupKinds, 'kind', 'full');
    const format = oneOf(input.format, backupFormats, 'format', 'zip');
    const ids = input.destinationIds ?? [];
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string') || ids.length > 10)
      throw new MarinaError('MARINA_E_VALIDATION', 'destinationIds must be a list of up to 10 destination ids.', {
        field: 'destinationIds',
      });
    const destinations = await this.deps.destinations.usableBy(instance.organization_id, [...new Set(ids as string[])]);
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
    await this.deps.instances.requireIdle(instance);
    const label = await this.queries.labelOf(instance);
    const { backup, op } = await this.deps.db.transaction().execute(async (trx) => {
      // The job names its backup, recorded right after it (the record names its job): the id comes first.
      const backupId = randomUUID();
      const op = await this.deps.operations.insert(trx, ctx.actor, {
        job: planJob(createBackupJob, {
          backupId,
          destinationIds: destinations.map((d) => d.id),
          retention: spec.retention,
        }),
        organizationId: instance.organization_id,
        hostId: instance.host_id,
        target: { type: 'instance', id: instance.id, label },
      });
      const backup = await this.writer.record(trx, instance, {
        kind,
        format,
        trigger: spec.trigger,
        createdBy: actorLabel(ctx.actor),
        operationId: op.id,
        id: backupId,
      });
      await this.deps.audit.record(
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
      return { backup, op };
    });
    await this.copies.plan(backup, destinations);
    await this.deps.runner.enqueue(op);
    return { backup: (await this.views([backup]))[0] as BackupView, job: operationView(op) };
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    const backup = await this.get(ctx.actor, id, 'admin');
    if (backup.pinned) throw new MarinaError('MARINA_E_PINNED');
    if (backup.status === 'running' || backup.status === 'pending')
      throw new MarinaError('MARINA_E_BACKUP_IN_PROGRESS', 'This backup is still being written; wait for its job.');
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
    await this.deps.db.transaction().execute(async (trx) => {
      await this.writer.remove(trx, backup.id);
      await this.deps.audit.record(
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
    const updated = await this.deps.db.transaction().execute(async (trx) => {
      const row = await this.writer.setPinned(trx, backup.id, value);
      await this.deps.audit.record(
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
    /** Where the .dump prepared from it is (or will be) kept. */
    dumpPath: string;
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
          void this.deps.audit
            .record(ctx, {
              action: 'backup.download_mismatch',
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
    await this.deps.audit.record(ctx, {
      action: 'backup.download',
      organizationId: backup.organization_id,
      target: { type: 'backup', id: backup.id, label: backup.instance_label },
    });
    return {
      path: this.storage.pathOf(backup),
      dumpPath: this.storage.dumpPathOf(backup),
      size: Number(backup.size_bytes),
      name: backupView(backup).downloadName,
      sha256: backup.sha256,
      remote,
    };
  }

  /**
   * "Download .dump": ready when the backup holds a custom-format dump (an imported .dump) or one
   * was prepared already; else the job that prepares it, the one under way if there is one.
   */
  async prepareDump(ctx: RequestContext, id: string): Promise<{ ready: true } | { ready: false; job: OperationView }> {
    const backup = await this.get(ctx.actor, id, 'admin');
    if (backup.status !== 'completed' || backup.kind === 'filestore')
      throw new MarinaError('MARINA_E_BACKUP_UNAVAILABLE', 'Only a completed backup with a database has a .dump.');
    if ((await this.storage.dumpSize(backup)) !== undefined || (await holdsCustomDump(this.storage, backup)))
      return { ready: true };
    const running = await this.deps.db
      .selectFrom('operations')
      .selectAll()
      .where('kind', '=', exportDumpJob.kind)
      .where('target_id', '=', backup.id)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirst();
    if (running) return { ready: false, job: operationView(running) };
    const op = await this.deps.operations.insert(this.deps.db, ctx.actor, {
      job: planJob(exportDumpJob, { backupId: backup.id }),
      organizationId: backup.organization_id,
      hostId: null,
      target: { type: 'backup', id: backup.id, label: backup.instance_label },
    });
    await this.deps.runner.enqueue(op);
    return { ready: false, job: operationView(op) };
  }

  async restore(
    ctx: RequestContext,
    id: string,
    input: FillTarget,
  ): Promise<{ job: OperationView; instance: InstanceView }> {
    const backup = await this.get(ctx.actor, id, 'admin');
    if (backup.status !== 'completed')
      throw new MarinaError('MARINA_E_BACKUP_UNAVAILABLE', 'Only a completed backup can be restored.');
    const target = await this.deps.targets.resolve(
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
    return this.deps.targets.submit(
      ctx,
      target,
      { kind: 'backup.restore', copy, input: { backupId: backup.id } },
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
    const source = await this.deps.instances.get(ctx.actor, sourceId);
    await requirePermissionOn(this.deps.db, ctx.actor, source, 'instance.operate');
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
    const target = await this.deps.targets.resolve(ctx, source.organization_id, source.odoo_version, input, null);
    return this.deps.targets.submit(
      ctx,
      target,
      { kind: 'instance.clone', copy: true, input: { sourceId: source.id, filestore } },
      input.neutralize,
      source.id,
      { source: source.id, filestore },
    );
  }

  /** An Odoo zip uploaded, checked, kept as a backup and restored into the target (see `BackupImports`). */
  importZip(
    ctx: RequestContext,
    body: Readable,
    input: FillTarget & { organizationId?: unknown },
  ): Promise<{ job: OperationView; instance: InstanceView; backup: BackupView }> {
    return this.deps.imports.importZip(ctx, body, input);
  }

  /**
   * After a restart: backups whose job is no longer running are failed (their partial files go),
   * and partial files nobody writes are removed. Nothing half-written is ever listed as completed.
   */
  async sweep(): Promise<void> {
    for (const backup of await this.writer.failAbandoned()) await this.storage.remove(backup);
    await this.storage.sweepUploads();
  }
}

export { actorLabel };
