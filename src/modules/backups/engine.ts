/**
 * The data plane of backups: pg_dump/pg_restore/psql run in one-off containers of the PostgreSQL
 * image on the instances' network; data crosses Docker's archive API as tar streams. Marina's
 * process only moves bytes through streams, so its memory does not depend on the data's size.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createZstdCompress, createZstdDecompress, constants as zlibConstants } from 'node:zlib';
import tarStream from 'tar-stream';
import yazl from 'yazl';
import type { BackupFileWriter } from '../../adapters/archive/backup-file.js';
import { eachTarEntry, TarSink } from '../../adapters/archive/tar-sink.js';
import { ZipReader } from '../../adapters/archive/zip-reader.js';
import { type ServerConnection, withClient } from '../../adapters/postgres/admin.js';
import { noteStreamed } from '../../adapters/stream-garbage.js';
import {
  ArchiveError,
  type ArchiveFormat,
  type ArchiveKind,
  DUMP_DIR,
  DUMP_SQL,
  FILESTORE_DIR,
  filestoreRelative,
  MANIFEST,
  type OdooManifest,
  safeEntryName,
} from '../../odoo/backup-archive.js';
import { Sha1Set } from '../../odoo/filestore-index.js';
import { psqlScriptGuard } from '../../odoo/psql-script.js';
import { MarinaError } from '../../platform/errors.js';
import { type ContainerSpec, type DockerEngine, LABEL_KIND } from '../../runtime/docker/engine.js';
import { namespaceLabels } from '../hosts/database-servers.js';
import { ODOO_DATA_DIR, ODOO_UID } from '../instances/odoo-container.js';

const SCRATCH = '/scratch';
/** zstd works in 256 KiB pieces: with the default 16 KiB every piece is a thread-pool round trip (3× slower); larger ones only cost memory. */
const ZSTD_CHUNK = 256 * 1024;
const FILESTORE_ROOT = `${ODOO_DATA_DIR}/filestore`;
/** Names Marina gives databases and folders it moves: checked again here, before any command uses them. */
const SAFE_NAME = /^[a-z][a-z0-9_.]{0,62}$/;

function checked(name: string): string {
  if (!SAFE_NAME.test(name)) throw new Error(`refusing the name ${JSON.stringify(name)}`);
  return name;
}

/** Where the data of one job lives and how its containers reach PostgreSQL. */
export interface DataPlane {
  engine: DockerEngine;
  namespace: string;
  /** The PostgreSQL image: its pg_dump matches the server. */
  toolsImage: string;
  network: string;
  /** PostgreSQL as the containers reach it (the instances' network). */
  internal: { host: string; port: number };
  /** PostgreSQL as Marina reaches it, as superuser: for the maintenance database only (adapters/postgres/admin). */
  admin: ServerConnection;
  /**
   * Where psql loads an imported dump.sql: a network holding only the managed server (the
   * container joins it under its `internal.host` name). Unset for an external server, which is not
   * a container: the load then runs on `network`, which reaches no more than the tenant's own Odoo.
   */
  loadNetwork?: { name: string; dbContainer: string };
  /** pg_dump and pg_restore parallel jobs. */
  jobs: number;
  /** The operation this work belongs to: its helper containers and scratch volume carry its id. */
  operationId: string;
}

export interface Credentials {
  user: string;
  password: string;
}

export const scratchVolumeName = (plane: Pick<DataPlane, 'namespace' | 'operationId'>) =>
  `${plane.namespace}-scratch-${plane.operationId.replace(/-/g, '').slice(0, 16)}`;

const toolLabels = (plane: DataPlane) => ({
  ...namespaceLabels(plane.namespace, 'backup-tool', plane.operationId),
  [LABEL_KIND]: 'backup-tool',
});

/**
 * A one-off container of the tools image. Those that connect get the credentials of the role that
 * owns the database they work on (never the superuser's); file helpers get none.
 */
function toolSpec(
  plane: DataPlane,
  suffix: string,
  command: string[],
  credentials: Credentials | undefined,
  mounts: ContainerSpec['mounts'] = [],
  network = plane.network,
): ContainerSpec {
  const [entrypoint, ...args] = command;
  return {
    name: `${scratchVolumeName(plane)}-${suffix}`,
    image: plane.toolsImage,
    // The image's own entrypoint would start a server; the tool is run directly.
    entrypoint: [entrypoint ?? 'false'],
    cmd: args,
    env: credentials
      ? {
          PGHOST: plane.internal.host,
          PGPORT: String(plane.internal.port),
          PGUSER: credentials.user,
          PGPASSWORD: credentials.password,
          PGAPPNAME: 'marina-backup',
          // Index builds of a restore sort in memory; its commits need not wait for the disk one by one
          // (a crash mid-restore throws the loaded database away anyway).
          PGOPTIONS: '-c maintenance_work_mem=256MB -c synchronous_commit=off',
        }
      : {},
    labels: toolLabels(plane),
    network,
    mounts,
  };
}

async function runTool(
  plane: DataPlane,
  suffix: string,
  command: string[],
  credentials: Credentials | undefined,
  mounts?: ContainerSpec['mounts'],
  network?: string,
) {
  await plane.engine.remove(`${scratchVolumeName(plane)}-${suffix}`);
  return plane.engine.run(toolSpec(plane, suffix, command, credentials, mounts, network));
}

/** Marina's own connection, as a role, to a database that role owns. */
export const asRole = (plane: DataPlane, role: Credentials): ServerConnection => ({
  ...plane.admin,
  user: role.user,
  password: role.password,
});

/** Errors of a failed tool, without the noise: the lines that say what went wrong. */
function toolFailure(what: string, result: { exitCode: number; output: string }): MarinaError {
  const lines = result.output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-15);
  return new MarinaError('MARINA_E_JOB_FAILED', `${what} failed (exit code ${result.exitCode}):\n${lines.join('\n')}`);
}

/**
 * A container that is never started: it only holds the scratch volume and an instance's data
 * volume mounted, so that Docker's archive API can read and write them.
 */
export async function withCarrier<T>(
  plane: DataPlane,
  volumes: { scratch?: boolean; data?: string },
  suffix: 'carrier' | 'source',
  work: (id: string) => Promise<T>,
): Promise<T> {
  const mounts: ContainerSpec['mounts'] = [];
  if (volumes.scratch) mounts.push({ type: 'volume', source: scratchVolumeName(plane), target: SCRATCH });
  if (volumes.data) mounts.push({ type: 'volume', source: volumes.data, target: ODOO_DATA_DIR });
  await plane.engine.remove(`${scratchVolumeName(plane)}-${suffix}`);
  const id = await plane.engine.createContainer({ ...toolSpec(plane, suffix, ['true'], undefined, mounts) });
  try {
    return await work(id);
  } finally {
    await plane.engine.remove(id);
  }
}

export async function createScratch(plane: DataPlane): Promise<void> {
  await plane.engine.ensureVolume(scratchVolumeName(plane), toolLabels(plane));
}

export async function removeScratch(plane: Pick<DataPlane, 'engine' | 'namespace' | 'operationId'>): Promise<void> {
  for (const suffix of ['carrier', 'source', 'dump', 'restore', 'files', 'index'])
    await plane.engine.remove(`${scratchVolumeName(plane)}-${suffix}`);
  await plane.engine.removeVolume(scratchVolumeName(plane));
}

/**
 * Runs a fixed script (no user text in it) on an instance's data volume; names are passed as
 * arguments, after the check above, never pasted into the script.
 */
async function onDataVolume(plane: DataPlane, volume: string, script: string, names: string[]): Promise<void> {
  const result = await runTool(
    plane,
    'files',
    ['sh', '-euc', `cd ${ODOO_DATA_DIR}; ${script}`, 'sh', ...names.map(checked)],
    undefined,
    [{ type: 'volume', source: volume, target: ODOO_DATA_DIR }],
  );
  if (result.exitCode !== 0) throw toolFailure('Moving filestore folders', result);
}

/** The installed modules and PostgreSQL version, for the manifest: read as the database's own role. */
export async function databaseFacts(
  plane: DataPlane,
  db: string,
  role: Credentials,
): Promise<{ modules: Record<string, string>; serverVersionNum: number; sizeBytes: number; filestoreBytes: number }> {
  return withClient(asRole(plane, role), db, async (c) => {
    const modules = await c
      .query<{ name: string; latest_version: string | null }>(
        "SELECT name, latest_version FROM ir_module_module WHERE state = 'installed' ORDER BY name",
      )
      .then((r) => r.rows)
      .catch(() => []);
    const version = await c.query<{ v: string }>("select current_setting('server_version_num') as v");
    const size = await c.query<{ size: string }>('select pg_database_size(current_database())::text as size');
    const files = await c
      .query<{ bytes: string | null }>(
        'SELECT sum(file_size)::text AS bytes FROM ir_attachment WHERE store_fname IS NOT NULL',
      )
      .then((r) => Number(r.rows[0]?.bytes ?? 0))
      .catch(() => 0);
    return {
      modules: Object.fromEntries(modules.map((m) => [m.name, m.latest_version ?? ''])),
      serverVersionNum: Number(version.rows[0]?.v ?? 0),
      sizeBytes: Number(size.rows[0]?.size ?? 0),
      filestoreBytes: files,
    };
  });
}

export interface ArchiveSource {
  db: string;
  /** The role that owns `db`: pg_dump runs as it. */
  role: Credentials;
  volume: string;
  kind: ArchiveKind;
  manifest: OdooManifest;
}

/** Streams the filestore folder of a database out of its volume: (relative name, header, content). */
async function eachFilestoreFile(
  plane: DataPlane,
  carrier: string,
  db: string,
  handle: (relative: string, header: tarStream.Header, stream: Readable) => Promise<void>,
): Promise<void> {
  const tar = await plane.engine.getArchive(carrier, `${FILESTORE_ROOT}/${checked(db)}`);
  // A database that never stored an attachment has no filestore folder: an empty filestore.
  if (!tar) return;
  await eachTarEntry(tar, async (header, stream) => {
    // Docker names entries after the folder itself: "<db>/ab/abcdef…".
    const relative = header.name.split('/').slice(1).join('/');
    if (header.type !== 'file' || relative === '') return;
    await handle(relative, header, stream);
  });
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
    const result = await plane.engine.runStreaming(
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
      eachFilestoreFile(plane, carrier, source.db, async (relative, header, stream) => {
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
          const tar = await plane.engine.getArchive(carrier, `${SCRATCH}/dump`);
          if (!tar) throw new MarinaError('MARINA_E_JOB_FAILED', 'pg_dump wrote no dump folder.');
          await eachTarEntry(tar, async (header, stream) => {
            const relative = header.name.split('/').slice(1).join('/');
            if (header.type !== 'file' || relative === '') return;
            await add({ name: `${DUMP_DIR}${relative}`, size: header.size, mode: 0o600, mtime: header.mtime }, stream);
          });
        }
        if (source.kind !== 'database') {
          await eachFilestoreFile(plane, carrier, source.db, (relative, header, stream) =>
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
  await onDataVolume(
    plane,
    target.volume,
    'rm -rf -- "filestore/$1"; mkdir -p "filestore/$1"; chown 101:101 . filestore "filestore/$1"',
    [target.filestoreDir],
  );
  let dumpFound = false;
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
        dbLoad = loadDatabase(plane, target, options);
        dbLoad.catch(() => undefined);
      };
      const dumpEntry = async (name: string, size: number, content: Readable) => {
        if (dbLoad) throw new ArchiveError('corrupt', `The archive's dump is not in one piece (${name} comes late).`);
        dumpFound = true;
        dumpSink ??= new TarSink((tar) => plane.engine.putArchive(dumpCarrier, SCRATCH, tar));
        await dumpSink.add({ name, size }, content);
      };
      const fileEntry = async (relative: string, size: number, mtime: Date | undefined, content: Readable) => {
        await startDbLoad();
        const intact = await reusable.catch(() => Sha1Set.empty);
        // Rooted at filestore/ so that a hard link can name the instance's current folder beside it.
        fileSink ??= new TarSink((tar) => plane.engine.putArchive(fileCarrier, FILESTORE_ROOT, tar), {
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
            options.onProgress?.(read / Math.max(1, total));
          });
          const tar = new PassThrough({ highWaterMark: ZSTD_CHUNK });
          const decompressing = pipeline(input, createZstdDecompress({ chunkSize: ZSTD_CHUNK }), tar).catch((error) => {
            tar.destroy(new ArchiveError('corrupt', `The archive cannot be decompressed: ${(error as Error).message}`));
          });
          await eachTarEntry(tar, async (header, stream) => {
            const { name } = header;
            if (header.type !== 'file') return;
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
  await plane.engine.remove(`${scratchVolumeName(plane)}-index`);
  const result = await plane.engine.runStreaming(
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

/** The dump streamed through the psql-script guard; an error on either side ends both. */
function guarded(dump: Readable): Readable {
  const guard = psqlScriptGuard();
  dump.on('error', (error) => guard.destroy(error));
  return dump.pipe(guard);
}

/**
 * The network an imported dump.sql is loaded from: for a managed server, an internal network
 * (no route out) that holds the server and nothing else, so that psql reaches PostgreSQL only.
 */
async function loadNetworkOf(plane: DataPlane): Promise<string> {
  const load = plane.loadNetwork;
  if (!load) return plane.network;
  await plane.engine.ensureNetwork(load.name, namespaceLabels(plane.namespace, 'load-network'), { internal: true });
  await plane.engine.connectNetwork(load.name, load.dbContainer, [plane.internal.host]);
  return load.name;
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/**
 * Moves the loaded filestore folder into place; the old one stays aside as `<db>.previous` until
 * removeFilestoreFolder takes it away (after Odoo is back: deleting is not downtime).
 */
export async function swapFilestore(plane: DataPlane, volume: string, db: string, loaded: string): Promise<void> {
  await onDataVolume(
    plane,
    volume,
    // Idempotent, so that a recovery after a crash can run it again: each move happens once.
    'cd filestore; if [ -d "$2" ]; then rm -rf -- "$1.previous"; if [ -d "$1" ]; then mv -- "$1" "$1.previous"; fi; mv -- "$2" "$1"; fi',
    [db, loaded],
  );
}

/**
 * A new volume first mounted by a tool container (not the Odoo image) is owned by root: Odoo's user
 * must own the data folder to keep its sessions and addons there.
 */
export async function ownDataVolume(plane: DataPlane, volume: string): Promise<void> {
  await onDataVolume(plane, volume, 'chown 101:101 .', []);
}

export async function removeFilestoreFolder(plane: DataPlane, volume: string, folder: string): Promise<void> {
  await onDataVolume(plane, volume, 'rm -rf -- "filestore/$1"', [folder]);
}

/** Copies one instance's filestore folder into another's volume, as a tar stream between two carriers. */
export async function copyFilestore(
  plane: DataPlane,
  from: { volume: string; db: string },
  to: { volume: string; folder: string },
): Promise<void> {
  await onDataVolume(
    plane,
    to.volume,
    'rm -rf -- "filestore/$1"; mkdir -p "filestore/$1"; chown 101:101 . filestore "filestore/$1"',
    [to.folder],
  );
  const sourceName = `${scratchVolumeName(plane)}-source`;
  await plane.engine.remove(sourceName);
  const source = await plane.engine.createContainer({
    ...toolSpec(plane, 'source', ['true'], undefined, [
      { type: 'volume', source: from.volume, target: ODOO_DATA_DIR, readOnly: true },
    ]),
  });
  try {
    await withCarrier(plane, { data: to.volume }, 'carrier', async (carrier) => {
      const sink = new TarSink(
        (tar) => plane.engine.putArchive(carrier, `${FILESTORE_ROOT}/${checked(to.folder)}`, tar),
        {
          uid: ODOO_UID,
          gid: ODOO_UID,
        },
      );
      try {
        await eachFilestoreFile(plane, source, from.db, (relative, header, stream) =>
          sink.add({ name: relative, size: header.size ?? 0, mode: 0o600, mtime: header.mtime }, stream),
        );
        await sink.close();
      } catch (error) {
        sink.destroy();
        throw error;
      }
    });
  } finally {
    await plane.engine.remove(source);
  }
}

/**
 * Streams a live database into another through pg_dump -Fd / pg_restore -j: no one is disconnected.
 * Each side runs as its own database's role.
 */
export async function copyDatabase(
  plane: DataPlane,
  from: { db: string; role: Credentials },
  to: LoadTarget,
): Promise<void> {
  await dumpToScratch(plane, from.db, from.role);
  await restoreFromScratch(plane, to.db, to.role);
}

const scratchMount = (plane: DataPlane): ContainerSpec['mounts'] => [
  { type: 'volume', source: scratchVolumeName(plane), target: SCRATCH },
];

/**
 * pg_dump in directory format with parallel jobs into the scratch volume: a consistent snapshot
 * (the source's sessions go on). No compression: zstd over the whole archive is faster and
 * smaller than pg_dump's gzip.
 */
async function dumpToScratch(plane: DataPlane, db: string, role: Credentials): Promise<void> {
  const result = await runTool(
    plane,
    'dump',
    [
      'pg_dump',
      '--format=directory',
      `--jobs=${plane.jobs}`,
      '--compress=0',
      '--no-owner',
      '--no-privileges',
      '--file',
      `${SCRATCH}/dump`,
      '--dbname',
      checked(db),
    ],
    role,
    scratchMount(plane),
  );
  if (result.exitCode !== 0) throw toolFailure('pg_dump', result);
}

/** pg_restore of the scratch volume's dump in parallel, as the target's own role: it owns what it loads. */
async function restoreFromScratch(plane: DataPlane, db: string, role: Credentials): Promise<void> {
  const result = await runTool(
    plane,
    'restore',
    ['pg_restore', `--jobs=${plane.jobs}`, '--no-owner', '--no-privileges', '--dbname', checked(db), `${SCRATCH}/dump`],
    role,
    scratchMount(plane),
  );
  if (result.exitCode !== 0) throw toolFailure('pg_restore', result);
}
