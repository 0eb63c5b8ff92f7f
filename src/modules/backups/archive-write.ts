/** Writing a backup archive: Odoo's zip or Marina's native format, streamed from the data plane. */
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import type { BackupFileWriter } from '../../adapters/archive/backup-file.js';
import { writeRenamedPart } from '../../adapters/archive/tar-parts.js';
import { fileEntry } from '../../adapters/archive/tar-rename.js';
import { streamedBytesCounter } from '../../adapters/stream-garbage.js';
import {
  type ArchiveKind,
  DUMP_DIR,
  DUMP_SQL,
  FILESTORE_DIR,
  MANIFEST,
  type OdooManifest,
} from '../../odoo/backup-archive.js';
import { MarinaError } from '../../platform/errors.js';
import { writeNativeBeside } from './archive-beside.js';
import {
  type Credentials,
  checked,
  type DataPlane,
  dumpToScratch,
  eachFilestoreFile,
  FILESTORE_ROOT,
  SCRATCH,
  toolFailure,
  toolSpec,
  withCarrier,
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
    // A counting pass-through: its chunks, and the filestore's below, are garbage once zipped.
    const dump = streamedBytesCounter();
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
        const entry = streamedBytesCounter();
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

/**
 * Marina's native archive: zstd(tar(manifest.json, dump/ from pg_dump -Fd -j N, filestore/…)).
 * Made beside the data when the tools image and the engine allow (archive-beside); otherwise here:
 * the filestore is read while pg_dump runs, into a part written beside the backup file, and appended
 * after the dump: restores read the dump first, to load it while they unpack the files.
 */
export async function writeNativeArchive(
  plane: DataPlane,
  source: ArchiveSource,
  writer: BackupFileWriter,
  log: (message: string) => void = () => undefined,
  onMade?: (bytes: number) => void,
): Promise<void> {
  if (await writeNativeBeside(plane, source, writer, { log, ...(onMade ? { onMade } : {}) })) return;
  const manifest = Buffer.from(JSON.stringify(source.manifest, null, 4));
  const withDb = source.kind !== 'filestore';
  const withFiles = source.kind !== 'database';
  const started = performance.now();
  const took = (from: number) => `${((performance.now() - from) / 1000).toFixed(1)} s`;
  // The dump is archived into the file as soon as pg_dump ends, while the filestore may still be
  // going into its part beside the file.
  const dumpWritten = withDb
    ? dumpToScratch(plane, source.db, source.role).then(async () => {
        log(`pg_dump took ${took(started)}.`);
        const archiving = performance.now();
        await writeDumpPart(plane, writer, manifest, withFiles);
        log(`The dump was archived in ${took(archiving)}${withFiles ? ', beside the filestore' : ''}.`);
      })
    : Promise.resolve();
  dumpWritten.catch(() => undefined);
  const filesWritten = withFiles
    ? writeFilestorePart(plane, source, {
        destination: withDb ? writer.laterPart() : writer.input,
        separate: withDb,
        manifest: withDb ? undefined : manifest,
      }).then(() => log(`The filestore took ${took(started)}${withDb ? ', beside pg_dump' : ''}.`))
    : Promise.resolve();
  // Both end before either failure is reported: nothing keeps running after the job.
  const [dump, files] = await Promise.allSettled([dumpWritten, filesWritten]);
  if (dump.status === 'rejected') throw dump.reason;
  if (files.status === 'rejected') throw files.reason;
  if (withDb && withFiles) {
    const appending = performance.now();
    await writer.appendLater();
    log(`The filestore part was appended in ${took(appending)}.`);
  }
}

/** The manifest and pg_dump's folder, the archive's first part (its only one without the filestore). */
async function writeDumpPart(plane: DataPlane, writer: BackupFileWriter, manifest: Buffer, withFiles: boolean) {
  await withCarrier(plane, { scratch: true }, 'carrier', async (carrier) => {
    const tar = await carrier.read(`${SCRATCH}/dump`);
    if (!tar) throw new MarinaError('MARINA_E_TOOL_FAILED', 'pg_dump wrote no dump folder.');
    await writeRenamedPart(tar, writer.input, {
      rename: (name) => inFolder(DUMP_DIR, name),
      prelude: fileEntry(MANIFEST, manifest),
      last: !withFiles,
      endDestination: false,
    });
  });
}

/** "<folder>/ab/…" (as Docker names a folder's entries) → "<into>ab/…"; the folder's own entry is dropped. */
function inFolder(into: string, name: string): string | undefined {
  const relative = name.split('/').slice(1).join('/');
  return relative === '' ? undefined : `${into}${relative}`;
}

/** The filestore as the archive's last part (after the manifest when it is the only part). */
async function writeFilestorePart(
  plane: DataPlane,
  source: ArchiveSource,
  into: { destination: Writable; separate: boolean; manifest: Buffer | undefined },
): Promise<void> {
  await withCarrier(plane, { data: source.volume }, 'source', async (carrier) => {
    // A database that never stored an attachment has no filestore folder: an empty filestore.
    const tar = await carrier.read(`${FILESTORE_ROOT}/${checked(source.db)}`);
    await writeRenamedPart(tar, into.destination, {
      rename: (name) => inFolder(FILESTORE_DIR, name),
      ...(into.manifest ? { prelude: fileEntry(MANIFEST, into.manifest) } : {}),
      last: true,
      endDestination: into.separate,
    });
  });
}
