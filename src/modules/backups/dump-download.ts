/** A backup downloaded as a .dump: the custom-format dump prepared from it, or the one it holds. */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { Backup } from '../../db/schema.js';
import { MarinaError } from '../../platform/errors.js';
import { openArchivedDump } from './dump-archive.js';
import type { BackupStorage } from './storage.js';

interface DownloadFile {
  path: string;
  dumpPath: string;
  name: string;
  remote?: () => Promise<Readable>;
}

/** A native backup imported from a .dump holds that dump as is: nothing to prepare. */
export async function holdsCustomDump(
  storage: BackupStorage,
  backup: Pick<Backup, 'file_name' | 'format'>,
): Promise<boolean> {
  if (backup.format !== 'native' || (await storage.size(backup)) === undefined) return false;
  const dump = await openArchivedDump(storage.pathOf(backup)).catch(() => undefined);
  dump?.stream.destroy();
  return dump !== undefined;
}

/**
 * Sends the .dump prepared from a backup (POST /backups/:id/dump), or the one an imported backup
 * holds. Otherwise refused, saying how to get one: only a database server turns a dump.sql or a
 * directory-format dump into a .dump, and that takes a job.
 */
export async function sendDump(reply: FastifyReply, file: DownloadFile): Promise<FastifyReply> {
  const name = `${file.name.replace(/\.(zip|tar\.zst)$/, '')}.dump`;
  const prepared = await stat(file.dumpPath).catch(() => undefined);
  const dump = prepared
    ? { size: prepared.size, stream: createReadStream(file.dumpPath) }
    : file.name.endsWith('.zip')
      ? undefined
      : await openArchivedDump(file.remote ? await file.remote() : file.path);
  if (!dump)
    throw new MarinaError(
      'MARINA_E_DOWNLOAD_FORMAT',
      'The .dump of this backup is not prepared yet: prepare it first ("Download .dump" in the web UI, `marina backups download --format dump`, or POST /api/v1/backups/{id}/dump), then download it once its job has finished.',
    );
  return reply
    .header('accept-ranges', 'none')
    .header('content-type', 'application/octet-stream')
    .header('content-disposition', `attachment; filename="${name}"`)
    .header('content-length', String(dump.size))
    .send(dump.stream);
}
