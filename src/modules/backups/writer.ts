import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/database.js';
import type {
  Backup,
  BackupFormat,
  BackupKind,
  BackupTrigger,
  BackupVerification,
  Instance,
  LocalCopyStatus,
} from '../../db/schema.js';
import type { Clock } from '../../platform/clock.js';
import { instanceLabel } from './queries.js';
import type { BackupStorage } from './storage.js';

export interface BackupWriterDeps {
  db: Db;
  clock: Clock;
  storage: BackupStorage;
}

/**
 * The one writer of the `backups` table: the record a job writes into, its state as the job goes,
 * pins, retention's marks and deletion. Every change to a backup's record goes through here.
 */
export class BackupWriter {
  constructor(private readonly deps: BackupWriterDeps) {}

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
      /** Given when the job that reads the backup is queued before the record is made. */
      id?: string;
    },
  ): Promise<Backup> {
    const id = fields.id ?? randomUUID();
    const label = await instanceLabel(this.deps.db, instance);
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
        file_name: this.deps.storage.fileName(instance.id, id, fields.format),
        created_by: fields.createdBy,
        operation_id: fields.operationId,
        created_at: this.deps.clock.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async markRunning(id: string): Promise<void> {
    await this.deps.db.updateTable('backups').set({ status: 'running', error: null }).where('id', '=', id).execute();
  }

  async markCompleted(id: string, result: { sha256: string; sizeBytes: number; manifest: object }): Promise<Backup> {
    return this.deps.db
      .updateTable('backups')
      .set({
        status: 'completed',
        sha256: result.sha256,
        size_bytes: result.sizeBytes,
        manifest: JSON.stringify(result.manifest),
        completed_at: this.deps.clock.now(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async recordVerification(id: string, verification: BackupVerification): Promise<void> {
    await this.deps.db
      .updateTable('backups')
      .set({ verification: JSON.stringify(verification) })
      .where('id', '=', id)
      .execute();
  }

  /** A late error does not fail a completed backup, unless its file turned out not to be what was written. */
  async markFailed(id: string, message: string, options: { evenIfCompleted?: boolean } = {}): Promise<void> {
    let update = this.deps.db
      .updateTable('backups')
      .set({ status: 'failed', error: message.slice(0, 2000) })
      .where('id', '=', id);
    if (!options.evenIfCompleted) update = update.where('status', '<>', 'completed');
    await update.execute();
  }

  /** A restore reads only a file whose size and sha256 are what was recorded when it was written. */

  async setPinned(db: Db, id: string, pinned: boolean): Promise<Backup> {
    return db.updateTable('backups').set({ pinned }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  }

  /** Whether the file is on this server: retention removes it, a copy brought back restores it. */
  async markLocal(id: string, status: LocalCopyStatus): Promise<void> {
    await this.deps.db.updateTable('backups').set({ local_status: status }).where('id', '=', id).execute();
  }

  async remove(db: Db, id: string): Promise<void> {
    await db.deleteFrom('backups').where('id', '=', id).execute();
  }

  /**
   * After a restart: backups whose job is no longer running are failed; answers them, so their
   * partial files can go. Nothing half-written is ever listed as completed.
   */
  async failAbandoned(): Promise<Pick<Backup, 'id' | 'file_name'>[]> {
    const stale = await this.deps.db
      .selectFrom('backups')
      .leftJoin('operations', 'operations.id', 'backups.operation_id')
      .select(['backups.id', 'backups.file_name'])
      .where('backups.status', 'in', ['pending', 'running'])
      .where((eb) =>
        eb.or([eb('operations.status', 'is', null), eb('operations.status', 'not in', ['queued', 'running'])]),
      )
      .execute();
    for (const backup of stale) {
      await this.deps.db
        .updateTable('backups')
        .set({ status: 'failed', error: 'Marina stopped while this backup was being written.' })
        .where('id', '=', backup.id)
        .execute();
    }
    return stale;
  }
}
