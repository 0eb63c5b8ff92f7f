import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import type { OperationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import type { InstanceService, InstanceView, NewInstanceInput } from '../instances/service.js';
import { storeDumpArchive } from './dump-archive.js';
import { checkUpload } from './import-check.js';
import type { ImportLimitsService } from './import-limits.js';
import type { BackupStorage } from './storage.js';
import type { FillTarget, FillTargets } from './targets.js';
import { actorLabel, type BackupView, backupView } from './views.js';
import type { BackupWriter } from './writer.js';

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

export interface BackupImportsDeps {
  db: Db;
  audit: AuditService;
  runner: JobRunner;
  instances: InstanceService;
  storage: BackupStorage;
  writer: BackupWriter;
  targets: FillTargets;
  importLimits: ImportLimitsService;
  /** MARINA_UPLOAD_LIMIT_MB, in bytes. */
  uploadLimitBytes: number;
  /** The PostgreSQL major of the pg_restore that loads an imported .dump (undefined: not known). */
  pgRestoreMajor?: number;
}

/**
 * Backups made by Odoo's database manager (zip, or "pg_dump custom format" .dump), Odoo.sh or
 * Marina, uploaded and restored into an instance.
 */
export class BackupImports {
  constructor(private readonly deps: BackupImportsDeps) {}

  /**
   * An Odoo zip (database manager, Odoo.sh or Marina) or a custom-format .dump streamed to disk
   * under the size limit, checked whole — zip: names, CRCs, manifest, dump.sql; dump: header, table
   * of contents, every data block — kept as a backup, then restored into the target.
   */
  async importZip(
    ctx: RequestContext,
    body: Readable,
    input: FillTarget & { organizationId?: unknown },
  ): Promise<{ job: OperationView; instance: InstanceView; backup: BackupView }> {
    // The target is checked before a byte is stored: a refused import costs no disk.
    const probe = await this.importTargetOrganization(ctx, input);
    await this.deps.instances.quotas.requireOperational(this.deps.db, probe, 'import backups');
    const release = await this.deps.importLimits.begin(probe);
    const uploadId = randomUUID();
    const uploadPath = this.deps.storage.uploadPath(uploadId);
    const meter = new UploadMeter(this.deps.uploadLimitBytes);
    try {
      await mkdir(dirname(uploadPath), { recursive: true, mode: 0o700 });
      await pipeline(body, meter, createWriteStream(uploadPath, { flags: 'wx', mode: 0o600, flush: true }));
      // What the file is, from its content: an Odoo zip or a custom-format .dump; anything else is refused.
      const checked = await checkUpload(uploadPath, await this.deps.importLimits.get(), this.deps.pgRestoreMajor);
      const { manifest, version } = checked;
      const target = await this.deps.targets.resolve(ctx, probe, version, input, null);
      const sha256 = meter.hash.digest('hex');
      // The archive becomes a backup of the target: kept, listed, restorable again.
      const instanceForRecord = target.existing;
      // The restore job is queued (deferred) before the backup it reads is recorded: its id comes first.
      const backupId = randomUUID();
      const result = await this.deps.targets.submit(
        ctx,
        target,
        { kind: 'backup.restore', copy: true, input: { backupId }, defer: true, import: true },
        input.neutralize,
        null,
        { import: uploadId },
      );
      const instance = instanceForRecord ?? (await this.deps.instances.row(result.instance.id));
      const backup = await this.deps.writer.record(this.deps.db, instance, {
        kind: checked.kind,
        // A .dump is kept in Marina's native archive, beside the manifest Odoo's zip would have had.
        format: checked.format === 'zip' ? 'zip' : 'native',
        trigger: 'import',
        createdBy: actorLabel(ctx.actor),
        operationId: result.job.id,
        id: backupId,
      });
      await mkdir(dirname(this.deps.storage.pathOf(backup)), { recursive: true, mode: 0o700 });
      const stored =
        checked.format === 'zip'
          ? await rename(uploadPath, this.deps.storage.pathOf(backup)).then(() => ({ sha256, sizeBytes: meter.bytes }))
          : await storeDumpArchive(uploadPath, manifest, this.deps.storage.pathOf(backup));
      const completed = await this.deps.writer.markCompleted(backup.id, { ...stored, manifest });
      await this.deps.audit.record(ctx, {
        action: 'backup.import',
        organizationId: instance.organization_id,
        target: { type: 'backup', id: backup.id, label: completed.instance_label },
        details: {
          sizeBytes: meter.bytes,
          format: checked.format,
          dbName: manifest.db_name,
          version,
          instance: instance.id,
          job: result.job.id,
        },
      });
      await this.deps.runner.enqueue(await this.operationRow(result.job.id));
      return { job: result.job, instance: result.instance, backup: backupView(completed) };
    } finally {
      // From here on the restore job (queued above) holds the organization's import slot.
      release();
      await rm(uploadPath, { force: true });
    }
  }

  private async importTargetOrganization(ctx: RequestContext, input: FillTarget): Promise<string> {
    if (typeof input.instanceId === 'string') {
      const instance = await this.deps.instances.get(ctx.actor, input.instanceId);
      await requirePermissionOn(this.deps.db, ctx.actor, instance, 'backup.manage');
      return instance.organization_id;
    }
    const project = (input.newInstance as { project?: unknown } | undefined)?.project;
    if (typeof project !== 'string')
      throw new MarinaError('MARINA_E_VALIDATION', 'Say where to import: instanceId, or newInstance with a project.', {
        field: 'newInstance.project',
      });
    const fields = await this.deps.instances.validateNew(ctx, input.newInstance as NewInstanceInput);
    const organizationId = fields.project.organization_id;
    // Refused before the upload streams (no 20 GB upload for nothing); asked again, locked, at the insert.
    const { stage, cpus, memoryMb } = fields;
    await this.deps.instances.quotas.preview(this.deps.db, organizationId, { kind: 'instance', stage, cpus, memoryMb });
    await this.deps.instances.quotas.preview(this.deps.db, organizationId, { kind: 'data' });
    return organizationId;
  }

  private operationRow(id: string) {
    return this.deps.db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }
}
