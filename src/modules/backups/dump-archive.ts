/**
 * An imported `.dump` kept as a backup: Marina's native archive (zstd over tar) holding Odoo's
 * manifest and the custom-format dump unchanged as `database.dump`; and that dump read back out,
 * for a download in the format it came in.
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createZstdCompress, constants as zlibConstants } from 'node:zlib';
import tarStream from 'tar-stream';
import { BackupFileWriter } from '../../adapters/archive/backup-file.js';
import { zstdFramesDecompress } from '../../adapters/archive/zstd-frames.js';
import { DUMP_CUSTOM, MANIFEST, type OdooManifest } from '../../odoo/backup-archive.js';
import { ZSTD_CHUNK } from './data-plane.js';

/** Writes the native archive of an uploaded dump through a backup file writer. */
export async function writeDumpArchive(
  dumpPath: string,
  manifest: OdooManifest,
  writer: BackupFileWriter,
): Promise<void> {
  const pack = tarStream.pack();
  const output = pipeline(
    pack,
    // The dump is compressed already: level 1 only frames it.
    createZstdCompress({ chunkSize: ZSTD_CHUNK, params: { [zlibConstants.ZSTD_c_compressionLevel]: 1 } }),
    writer.input,
    { end: false },
  );
  output.catch(() => undefined);
  try {
    const text = Buffer.from(JSON.stringify(manifest, null, 4));
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: MANIFEST, type: 'file', mode: 0o600, uid: 0, gid: 0 }, text, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    const { size } = await stat(dumpPath);
    await pipeline(
      createReadStream(dumpPath, { highWaterMark: ZSTD_CHUNK }),
      pack.entry({ name: DUMP_CUSTOM, type: 'file', size, mode: 0o600, uid: 0, gid: 0 }),
    );
    pack.finalize();
    await output;
  } catch (error) {
    pack.destroy(error as Error);
    throw error;
  }
}

/**
 * The custom-format dump inside a native archive (the file or its bytes), as a stream and its
 * size; undefined when the archive holds none: a backup Marina took itself holds a
 * directory-format dump instead, and reading stops at its first entry after the manifest.
 */
export async function openArchivedDump(
  archive: string | Readable,
): Promise<{ size: number; stream: Readable } | undefined> {
  const extract = tarStream.extract();
  const source = typeof archive === 'string' ? createReadStream(archive, { highWaterMark: ZSTD_CHUNK }) : archive;
  const decompressing = pipeline(source, zstdFramesDecompress({ chunkSize: ZSTD_CHUNK }), extract);
  decompressing.catch(() => undefined);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (value: { size: number; stream: Readable } | undefined) => {
      settled = true;
      resolve(value);
    };
    extract.on('entry', (header, stream, next) => {
      if (header.name === MANIFEST) {
        stream.on('end', next);
        stream.resume();
        return;
      }
      if (header.name !== DUMP_CUSTOM) {
        settle(undefined);
        source.destroy();
        extract.destroy();
        return;
      }
      const out = new PassThrough({ highWaterMark: ZSTD_CHUNK });
      // The rest of the archive is not needed: once the dump is out, reading stops.
      pipeline(stream, out).then(
        () => {
          source.destroy();
          extract.destroy();
        },
        (error) => out.destroy(error),
      );
      settle({ size: header.size ?? 0, stream: out });
    });
    extract.on('finish', () => {
      if (!settled) settle(undefined);
    });
    extract.on('error', (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
  });
}

/** An uploaded .dump written as a native archive at `path`: what the backup record keeps. */
export async function storeDumpArchive(uploadPath: string, manifest: OdooManifest, path: string) {
  const writer = await BackupFileWriter.create(path);
  try {
    await writeDumpArchive(uploadPath, manifest, writer);
    return await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
