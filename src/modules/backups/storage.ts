import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL_SUFFIX, SIDE_FILE_SUFFIXES } from '../../adapters/archive/backup-file.js';
import type { Backup, BackupFormat } from '../../db/schema.js';
import { isUuid } from '../../platform/validation.js';

export const extensionOf = (format: BackupFormat): string => (format === 'zip' ? 'zip' : 'tar.zst');

/** Local backup storage: `<backups dir>/<instance id>/<backup id>.<zip|tar.zst>`; uploads wait in `uploads/`. */
export class BackupStorage {
  constructor(readonly root: string) {}

  fileName(instanceId: string, backupId: string, format: BackupFormat): string {
    if (!isUuid(instanceId) || !isUuid(backupId)) throw new Error('backup paths are made from ids only');
    return `${instanceId}/${backupId}.${extensionOf(format)}`;
  }

  pathOf(backup: Pick<Backup, 'file_name'>): string {
    // The stored name is Marina's own (ids only); checked again before it touches the disk.
    if (!/^[0-9a-f-]{36}\/[0-9a-f-]{36}\.(zip|tar\.zst)$/.test(backup.file_name))
      throw new Error(`refusing the backup file name ${JSON.stringify(backup.file_name)}`);
    return join(this.root, backup.file_name);
  }

  /**
   * The PostgreSQL custom-format .dump prepared from a backup (its database only), kept beside it:
   * `<backup id>.dump`. Written as `.dump.partial` and renamed when whole.
   */
  dumpPathOf(backup: Pick<Backup, 'file_name'>): string {
    return this.pathOf(backup).replace(/\.(zip|tar\.zst)$/, '.dump');
  }

  async dumpSize(backup: Pick<Backup, 'file_name'>): Promise<number | undefined> {
    try {
      return (await stat(this.dumpPathOf(backup))).size;
    } catch {
      return undefined;
    }
  }

  uploadPath(id: string): string {
    if (!isUuid(id)) throw new Error('upload paths are made from ids only');
    return join(this.root, 'uploads', `${id}.zip`);
  }

  async size(backup: Pick<Backup, 'file_name'>): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(backup))).size;
    } catch {
      return undefined;
    }
  }

  /** Removes a backup's file, its prepared .dump and any partial file left beside them. */
  async remove(backup: Pick<Backup, 'file_name'>): Promise<void> {
    const path = this.pathOf(backup);
    await rm(path, { force: true });
    for (const suffix of [PARTIAL_SUFFIX, ...SIDE_FILE_SUFFIXES]) await rm(path + suffix, { force: true });
    await this.removeDump(backup);
  }

  async removeDump(backup: Pick<Backup, 'file_name'>): Promise<void> {
    const dump = this.dumpPathOf(backup);
    await rm(dump, { force: true });
    await rm(dump + PARTIAL_SUFFIX, { force: true });
  }

  /**
   * Uploads a crash cut short. Only old ones: the folder may be shared with another Marina whose
   * uploads are in flight. (Partial backup files are removed with their failed records.)
   */
  async sweepUploads(olderThanMs = 6 * 3600_000): Promise<number> {
    let removed = 0;
    const dir = join(this.root, 'uploads');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > olderThanMs) {
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }
}
