/** A backup downloaded as a .dump: the custom-format dump it holds, streamed whole. */

import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { MarinaError } from '../../platform/errors.js';
import { openArchivedDump } from './dump-archive.js';

interface DownloadFile {
  path: string;
  name: string;
  remote?: () => Promise<Readable>;
}

/**
 * Sends the .dump a backup holds (one imported from Odoo's database manager as a .dump). Other
 * backups hold their database as a plain dump.sql (zip) or a directory-format dump (native),
 * which only a database server can turn into a .dump: refused, saying so.
 */
export async function sendDump(reply: FastifyReply, file: DownloadFile): Promise<FastifyReply> {
  const dump = file.name.endsWith('.zip')
    ? undefined
    : await openArchivedDump(file.remote ? await file.remote() : file.path);
  if (!dump)
    throw new MarinaError(
      'MARINA_E_DOWNLOAD_FORMAT',
      file.name.endsWith('.zip')
        ? 'This backup is an Odoo zip: its database is a plain SQL dump.sql, not a PostgreSQL custom-format dump, so it downloads as a zip only.'
        : "This backup is Marina's native archive: its database is a directory-format dump, not a PostgreSQL custom-format dump, so it downloads as a .tar.zst only.",
    );
  return reply
    .header('accept-ranges', 'none')
    .header('content-type', 'application/octet-stream')
    .header('content-disposition', `attachment; filename="${file.name.replace(/\.(zip|tar\.zst)$/, '')}.dump"`)
    .header('content-length', String(dump.size))
    .send(dump.stream);
}
