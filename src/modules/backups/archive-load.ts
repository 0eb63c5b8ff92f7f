/** Loading a backup archive (zip or native) into a database aside and a filestore folder aside. */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { ACCEPTED } from '../../adapters/archive/file-kind.js';
import { eachTarEntry, TarSink } from '../../adapters/archive/tar-sink.js';
import { ZipReader } from '../../adapters/archive/zip-reader.js';
import { zstdFramesDecompress } from '../../adapters/archive/zstd-frames.js';
import { noteStreamed, streamedBytesCounter } from '../../adapters/stream-garbage.js';
import {
  ArchiveError,
  type ArchiveFormat,
  type ArchiveKind,
  DUMP_CUSTOM,
  DUMP_DIR,
  DUMP_SQL,
  filestoreRelative,
  safeEntryName,
} from '../../odoo/backup-archive.js';
import { Sha1Set } from '../../odoo/filestore-index.js';
import { psqlScriptGuard } from '../../odoo/psql-script.js';
import { MarinaError } from '../../platform/errors.js';
import { ODOO_DATA_DIR, ODOO_UID } from '../instances/odoo-container.js';
import {
  type Credentials,
  checked,
  type DataPlane,
  FILESTORE_ROOT,
  freshFilestoreFolder,
  loadNetworkOf,
  restoreFromScratch,
  runTool,
  SCRATCH,
  scratchMount,
  toolFailure,
  toolSpec,
  withCarrier,
  ZSTD_CHUNK,
} from './data-plane.js';

export interface LoadTarget {
  /** The database to load into: empty, owned by the role. */
  db: string;
  role: Credentials;
  volume: string;
  /** The folder, under filestore/, that receives the files (renamed into place later). */
  filestoreDir: string;
  /**
   * The instance's current filestore folder, when restoring over it: its files that still match
   * their name are hard-linked into the new folder instead of being written again.
   */
  reuseFrom?: string;
}

export interface LoadOptions {
  format: ArchiveFormat;
  kind: ArchiveKind;
  path: string;
  onProgress?: (fraction: number, message?: string) => void;
  log?: (message: string, level?: 'info' | 'warn') => void;
}

/**
 * Loads an archive: database entries go to the scratch volume (then pg_restore or psql into the
 * target database), filestore entries straight into the target folder, owned by Odoo's user.
 */
export async function loadArchive(plane: DataPlane, target: LoadTarget, options: LoadOptions): Promise<void> {
  const wantsDb = options.kind !== 'filestore';
  const wantsFiles = options.kind !== 'database';
  await freshFilestoreFolder(plane, target.volume, target.filestoreDir);
  let dumpFound = false;
  // An imported .dump: one custom-format file instead of a dump/ folder.
  let customDump = false;
  const reusable =
    wantsFiles && target.reuseFrom
      ? intactFilestoreFiles(plane, target.volume, target.reuseFrom)
      : Promise.resolve(Sha1Set.empty);
  reusable.catch(() => undefined);
  const files = { written: 0, reused: 0 };
  // Two carriers: Docker extracts one archive per container at a time, and the database load can
  // start as soon as the dump is complete, while the filestore is still being unpacked.
  await withCarrier(plane, { scratch: true }, 'carrier', (dumpCarrier) =>
    withCarrier(plane, { data: target.volume }, 'source', async (fileCarrier) => {
      let dumpSink: TarSink | undefined;
      let fileSink: TarSink | undefined;
      let dbLoad: Promise<void> | undefined;
      const startDbLoad = async () => {
        if (dbLoad || !dumpSink) return;
        await dumpSink.close();
        dumpSink = undefined;
        dbLoad = customDump ? loadCustomDump(plane, target, options) : loadDatabase(plane, target, options);
        dbLoad.catch(() => undefined);
      };
      const dumpEntry = async (name: string, size: number, content: Readable) => {
        if (dbLoad) throw new ArchiveError('corrupt', `The archive's dump is not in one piece (${name} comes late).`);
        dumpFound = true;
        dumpSink ??= new TarSink((tar) => dumpCarrier.write(SCRATCH, tar));
        await dumpSink.add({ name, size }, content);
      };
      const fileEntry = async (relative: string, size: number, mtime: Date | undefined, content: Readable) => {
        await startDbLoad();
        const intact = await reusable.catch(() => Sha1Set.empty);
        // Rooted at filestore/ so that a hard link can name the instance's current folder beside it.
        fileSink ??= new TarSink((tar) => fileCarrier.write(FILESTORE_ROOT, tar), {
          uid: ODOO_UID,
          gid: ODOO_UID,
        });
        // Rooted one level up, a `..` in a name would reach the live folder: refused, as in imports.
        const name = `${checked(target.filestoreDir)}/${safeEntryName(relative)}`;
        if (target.reuseFrom && intact.hasFile(relative)) {
          content.resume();
          await finished(content);
          await fileSink.add({ name, size: 0, type: 'link', linkname: `${checked(target.reuseFrom)}/${relative}` });
          files.reused++;
          return;
        }
        await fileSink.add({ name, size, mode: 0o600, mtime }, content);
        files.written++;
      };
      try {
        if (options.format === 'native') {
          const total = await fileSize(options.path);
          let read = 0;
          const input = createReadStream(options.path, { highWaterMark: ZSTD_CHUNK });
          input.on('data', (chunk) => {
            read += chunk.length;
            noteStreamed(chunk.length);
            options.onProgress?.(read / Math.max(1, total));
          });
          const tar = new PassThrough({ highWaterMark: ZSTD_CHUNK });
          // Both the archive's chunks and the decompressed ones are garbage once passed on.
          const decompressing = pipeline(
            input,
            zstdFramesDecompress({ chunkSize: ZSTD_CHUNK }),
            streamedBytesCounter(),
            tar,
          ).catch((error) => {
            tar.destroy(new ArchiveError('corrupt', `The archive cannot be decompressed: ${(error as Error).message}`));
          });
          await eachTarEntry(tar, async (header, stream) => {
            const { name } = header;
            if (header.type !== 'file') return;
            if (name === DUMP_CUSTOM) {
              customDump = true;
              if (wantsDb) await dumpEntry(DUMP_CUSTOM, header.size ?? 0, stream);
              return;
            }
            if (name.startsWith(DUMP_DIR)) {
              if (wantsDb) await dumpEntry(`dump/${name.slice(DUMP_DIR.length)}`, header.size ?? 0, stream);
              return;
            }
            const relative = filestoreRelative(name);
            if (relative && wantsFiles) await fileEntry(relative, header.size ?? 0, header.mtime, stream);
          });
          await decompressing;
        } else {
          const zip = await ZipReader.open(options.path);
          try {
            const total = await fileSize(options.path);
            let done = 0;
            // A counting stage, not a 'data' listener: the stream must not flow before its sink is ready.
            const count = (stream: Readable): Readable => {
              const counter = new Transform({
                transform(chunk: Buffer, _encoding, next) {
                  done += chunk.length;
                  noteStreamed(chunk.length);
                  options.onProgress?.(Math.min(1, done / Math.max(1, total)));
                  next(null, chunk);
                },
              });
              stream.on('error', (error) => counter.destroy(error));
              return stream.pipe(counter);
            };
            await zip.each(async (info) => {
              if (info.directory) return;
              if (info.name === DUMP_SQL) {
                // psql runs backslash commands: a dump holding any is refused before psql starts.
                if (wantsDb) await dumpEntry(DUMP_SQL, info.size, guarded(count(await zip.stream(info))));
                return;
              }
              const relative = filestoreRelative(info.name);
              if (relative && wantsFiles)
                await fileEntry(relative, info.size, info.mtime, count(await zip.stream(info)));
            });
          } finally {
            zip.close();
          }
        }
        if (wantsDb && !dumpFound) {
          throw new MarinaError(
            'MARINA_E_ARCHIVE_INVALID',
            options.format === 'zip' ? 'The archive has no dump.sql.' : 'The archive has no dump/ folder.',
          );
        }
        await startDbLoad();
        await fileSink?.close();
        if (wantsFiles)
          options.log?.(
            `Filestore: ${files.written} files written, ${files.reused} unchanged files kept from the instance.`,
          );
        await dbLoad;
      } catch (error) {
        dumpSink?.destroy();
        fileSink?.destroy();
        await dbLoad?.catch(() => undefined);
        throw error instanceof ArchiveError ? new MarinaError('MARINA_E_ARCHIVE_INVALID', error.message) : error;
      }
    }),
  );
}

/**
 * Hashes an instance's filestore folder in a container on its volume (read-only) and lists, sorted,
 * the files whose content still matches their name. A failure only means nothing is reused.
 */
async function intactFilestoreFiles(plane: DataPlane, volume: string, folder: string): Promise<Sha1Set> {
  const reader = Sha1Set.reader();
  const result = await plane.runtime.runStreaming(
    toolSpec(
      plane,
      'index',
      [
        'sh',
        '-euc',
        `cd "${FILESTORE_ROOT}/$1" 2>/dev/null || exit 0
find . -mindepth 2 -maxdepth 2 -type f -print0 | xargs -0 -r sha1sum -- |
  awk '{ n = $2; sub(/^[.][/]/, "", n); if (n == substr($1, 1, 2) "/" $1) print $1 }' | LC_ALL=C sort`,
        'sh',
        checked(folder),
      ],
      undefined,
      [{ type: 'volume', source: volume, target: ODOO_DATA_DIR, readOnly: true }],
    ),
    reader,
  );
  return result.exitCode === 0 ? reader.result() : Sha1Set.empty;
}

/** Loads the dump now in the scratch volume: pg_restore in parallel (native) or psql (zip). */
async function loadDatabase(plane: DataPlane, target: LoadTarget, options: LoadOptions): Promise<void> {
  options.log?.(options.format === 'native' ? `pg_restore with ${plane.jobs} jobs…` : 'psql -f dump.sql…');
  if (options.format === 'native') {
    await restoreFromScratch(plane, target.db, target.role);
    return;
  }
  // As Odoo does it (psql -f dump.sql), but a failed statement stops the load: a half-loaded
  // database must never replace a good one.
  const result = await runTool(
    plane,
    'restore',
    [
      'psql',
      '--quiet',
      '--no-psqlrc',
      '-v',
      'ON_ERROR_STOP=1',
      '--dbname',
      checked(target.db),
      '--file',
      `${SCRATCH}/${DUMP_SQL}`,
    ],
    target.role,
    scratchMount(plane),
    await loadNetworkOf(plane),
  );
  if (result.exitCode !== 0) throw toolFailure('psql', result);
}

/**
 * Loads an imported custom-format dump now in the scratch volume: `pg_restore --list` must read
 * it first (this pg_restore may be older than the pg_dump that wrote it), then pg_restore loads it
 * without owners or privileges, as the target's own role, from the same closed network as a
 * zip's dump.sql: the file came from outside.
 */
async function loadCustomDump(plane: DataPlane, target: LoadTarget, options: LoadOptions): Promise<void> {
  const file = `${SCRATCH}/${DUMP_CUSTOM}`;
  const listed = await runTool(plane, 'restore', ['pg_restore', '--list', file], undefined, scratchMount(plane));
  if (listed.exitCode !== 0) {
    const why = listed.output.trim().split('\n').slice(-3).join(' ');
    throw new MarinaError(
      'MARINA_E_ARCHIVE_INVALID',
      `This PostgreSQL custom-format dump cannot be read by this Marina's pg_restore (${why}). ${ACCEPTED}`,
    );
  }
  options.log?.(`pg_restore of the imported .dump with ${plane.jobs} jobs…`);
  const result = await runTool(
    plane,
    'restore',
    [
      'pg_restore',
      `--jobs=${plane.jobs}`,
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      '--dbname',
      checked(target.db),
      file,
    ],
    target.role,
    scratchMount(plane),
    await loadNetworkOf(plane),
  );
  if (result.exitCode !== 0) throw toolFailure('pg_restore', result);
}

/** The dump streamed through the psql-script guard; an error on either side ends both. */
function guarded(dump: Readable): Readable {
  const guard = psqlScriptGuard();
  dump.on('error', (error) => guard.destroy(error));
  return dump.pipe(guard);
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
