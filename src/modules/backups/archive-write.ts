/** Writing a backup archive: Odoo's zip or Marina's native format, streamed from the data plane. */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createZstdCompress, constants as zlibConstants } from 'node:zlib';
import tarStream from 'tar-stream';
import yazl from 'yazl';
import type { BackupFileWriter } from '../../adapters/archive/backup-file.js';
import { eachTarEntry } from '../../adapters/archive/tar-sink.js';
import {
  type ArchiveKind,
  DUMP_DIR,
  DUMP_SQL,
  FILESTORE_DIR,
  MANIFEST,
  type OdooManifest,
} from '../../odoo/backup-archive.js';
import { MarinaError } from '../../platform/errors.js';
import {
  type Credentials,
  checked,
  type DataPlane,
  dumpToScratch,
  eachFilestoreFile,
  SCRATCH,
  toolFailure,
  toolSpec,
  withCarrier,
  ZSTD_CHUNK,
} from './data-plane.js';

export interface ArchiveSource {
  db: string;
  /** The role that owns `db`: pg_dump runs as it. */
  role: Credentials;
  volume: string;
  kind: ArchiveKind;
  manifest: OdooManifest;
}

/** Odoo's zip: manifest.json, dump.sql (plain pg_dump --no-owner, streamed), filestore/…. */
export async function writeZipArchive(
  plane: DataPlane,
  source: ArchiveSource,
  writer: BackupFileWriter,
): Promise<void> {
  const zip = new yazl.ZipFile();
  const output = pipeline(zip.outputStream as unknown as Readable, writer.input, { end: false });
  zip.addBuffer(Buffer.from(JSON.stringify(source.manifest, null, 4)), MANIFEST, { compress: true });
  if (source.kind !== 'filestore') {
    const dump = new PassThrough();
    // SQL compresses well even at level 1, which keeps the archive writer far ahead of the disk.
    zip.addReadStream(dump, DUMP_SQL, { compressionLevel: 1 });
    const result = await plane.runtime.runStreaming(
      toolSpec(plane, 'dump', ['pg_dump', '--no-owner', '--format=plain', '--dbname', checked(source.db)], source.role),
      dump,
    );
    if (result.exitCode !== 0) {
      (zip.outputStream as unknown as Readable).destroy();
      throw toolFailure('pg_dump', result);
    }
  }
  if (source.kind !== 'database') {
    await withCarrier(plane, { data: source.volume }, 'carrier', (carrier) =>
      eachFilestoreFile(carrier, source.db, async (relative, header, stream) => {
        const entry = new PassThrough();
        // Attachments are mostly compressed formats already: stored, as deflating them costs time for nothing.
        zip.addReadStream(entry, `${FILESTORE_DIR}${relative}`, {
          compress: false,
          mtime: header.mtime,
          size: header.size,
        });
        await pipeline(stream, entry);
      }),
    );
  }
  zip.end();
  await output;
}

/** Marina's native archive: zstd(tar(manifest.json, dump/ from pg_dump -Fd -j N, filestore/…)). */
export async function writeNativeArchive(
  plane: DataPlane,
  source: ArchiveSource,
  writer: BackupFileWriter,
): Promise<void> {
  const pack = tarStream.pack();
  const output = pipeline(
    pack,
    createZstdCompress({ chunkSize: ZSTD_CHUNK, params: { [zlibConstants.ZSTD_c_compressionLevel]: 1 } }),
    writer.input,
    { end: false },
  );
  output.catch(() => undefined);
  const add = (fields: Partial<tarStream.Header> & { name: string }, content: Readable | Buffer) => {
    const header = { type: 'file', uid: 0, gid: 0, ...fields } as tarStream.Header;
    return Buffer.isBuffer(content)
      ? new Promise<void>((resolve, reject) => pack.entry(header, content, (e) => (e ? reject(e) : resolve())))
      : pipeline(content, pack.entry(header));
  };
  try {
    await add({ name: MANIFEST, mode: 0o600 }, Buffer.from(JSON.stringify(source.manifest, null, 4)));
    await withCarrier(
      plane,
      { scratch: source.kind !== 'filestore', data: source.volume },
      'carrier',
      async (carrier) => {
        if (source.kind !== 'filestore') {
          await dumpToScratch(plane, source.db, source.role);
          const tar = await carrier.read(`${SCRATCH}/dump`);
          if (!tar) throw new MarinaError('MARINA_E_TOOL_FAILED', 'pg_dump wrote no dump folder.');
          await eachTarEntry(tar, async (header, stream) => {
            const relative = header.name.split('/').slice(1).join('/');
            if (header.type !== 'file' || relative === '') return;
            await add({ name: `${DUMP_DIR}${relative}`, size: header.size, mode: 0o600, mtime: header.mtime }, stream);
          });
        }
        if (source.kind !== 'database') {
          await eachFilestoreFile(carrier, source.db, (relative, header, stream) =>
            add({ name: `${FILESTORE_DIR}${relative}`, size: header.size, mode: 0o600, mtime: header.mtime }, stream),
          );
        }
      },
    );
    pack.finalize();
    await output;
  } catch (error) {
    pack.destroy(error as Error);
    throw error;
  }
}
