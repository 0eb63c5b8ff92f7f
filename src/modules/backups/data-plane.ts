/**
 * The data plane of backups: pg_dump/pg_restore/psql run as one-off tools of the PostgreSQL image
 * on the instances' network; data crosses the runtime as tar streams. Marina's process only moves
 * bytes through streams, so its memory does not depend on the data's size.
 */
import type { Readable } from 'node:stream';
import type tarStream from 'tar-stream';
import { eachTarEntry } from '../../adapters/archive/tar-sink.js';
import { type ServerConnection, withClient } from '../../adapters/postgres/admin.js';
import { MarinaError } from '../../platform/errors.js';
import { type DataAccess, LABEL_KIND, type Mount, type OneOffSpec, type Runtime } from '../../runtime/port.js';
import { namespaceLabels } from '../hosts/database-servers.js';
import { ODOO_DATA_DIR, ODOO_UID } from '../instances/odoo-container.js';
import type { LoadTarget } from './archive-load.js';

export const SCRATCH = '/scratch';
/** zstd works in 256 KiB pieces: with the default 16 KiB every piece is a thread-pool round trip (3× slower); larger ones only cost memory. */
export const ZSTD_CHUNK = 256 * 1024;
export const FILESTORE_ROOT = `${ODOO_DATA_DIR}/filestore`;
/** Names Marina gives databases and folders it moves: checked again here, before any command uses them. */
const SAFE_NAME = /^[a-z][a-z0-9_.]{0,62}$/;

export function checked(name: string): string {
  if (!SAFE_NAME.test(name)) throw new Error(`refusing the name ${JSON.stringify(name)}`);
  return name;
}

/** Where the data of one job lives and how its containers reach PostgreSQL. */
export interface DataPlane {
  runtime: Runtime;
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
  /** A native backup compresses a data file while pg_dump writes it from this size on (default 8 MiB). */
  followDumpFromBytes?: number;
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
export function toolSpec(
  plane: DataPlane,
  suffix: string,
  command: string[],
  credentials: Credentials | undefined,
  mounts: Mount[] = [],
  network = plane.network,
): OneOffSpec {
  const [entrypoint, ...args] = command;
  return {
    name: `${scratchVolumeName(plane)}-${suffix}`,
    image: plane.toolsImage,
    // The image's own entrypoint would start a server; the tool is run directly.
    entrypoint: [entrypoint ?? 'false'],
    command: args,
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
    privileges: 'files',
  };
}

export async function runTool(
  plane: DataPlane,
  suffix: string,
  command: string[],
  credentials: Credentials | undefined,
  mounts?: Mount[],
  network?: string,
) {
  return plane.runtime.run(toolSpec(plane, suffix, command, credentials, mounts, network));
}

/** Marina's own connection, as a role, to a database that role owns. */
export const asRole = (plane: DataPlane, role: Credentials): ServerConnection => ({
  ...plane.admin,
  user: role.user,
  password: role.password,
});

/** Errors of a failed tool, without the noise: the lines that say what went wrong. */
export function toolFailure(what: string, result: { exitCode: number; output: string }): MarinaError {
  const lines = result.output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-15);
  return new MarinaError('MARINA_E_TOOL_FAILED', `${what} failed (exit code ${result.exitCode}):\n${lines.join('\n')}`);
}

/**
 * A carrier that never runs: it only holds the scratch volume and an instance's data volume
 * mounted, so that their files can be read and written as tar streams.
 */
export async function withCarrier<T>(
  plane: DataPlane,
  volumes: { scratch?: boolean; data?: string },
  suffix: 'carrier' | 'source' | 'dump-from' | 'dump-to',
  work: (carrier: DataAccess) => Promise<T>,
): Promise<T> {
  const mounts: Mount[] = [];
  if (volumes.scratch) mounts.push({ type: 'volume', source: scratchVolumeName(plane), target: SCRATCH });
  if (volumes.data) mounts.push({ type: 'volume', source: volumes.data, target: ODOO_DATA_DIR });
  return plane.runtime.withData(toolSpec(plane, suffix, ['true'], undefined, mounts), work);
}

export async function createScratch(plane: DataPlane): Promise<void> {
  await plane.runtime.ensureVolume(scratchVolumeName(plane), toolLabels(plane));
}

export async function removeScratch(plane: Pick<DataPlane, 'runtime' | 'namespace' | 'operationId'>): Promise<void> {
  const suffixes = [
    'carrier',
    'source',
    'dump-from',
    'dump-to',
    'dump',
    'dump-part',
    'files-part',
    'restore',
    'files',
    'index',
  ];
  // Independent calls, mostly answered "no such container": one round trip instead of ten.
  await Promise.all(suffixes.map((suffix) => plane.runtime.remove(`${scratchVolumeName(plane)}-${suffix}`)));
  await plane.runtime.removeVolume(scratchVolumeName(plane));
}

/**
 * Runs a fixed script (no user text in it) on an instance's data volume; names are passed as
 * arguments, after the check above, never pasted into the script.
 */
export async function onDataVolume(plane: DataPlane, volume: string, script: string, names: string[]): Promise<string> {
  const result = await runTool(
    plane,
    'files',
    ['sh', '-euc', `cd ${ODOO_DATA_DIR}; ${script}`, 'sh', ...names.map(checked)],
    undefined,
    [{ type: 'volume', source: volume, target: ODOO_DATA_DIR }],
  );
  if (result.exitCode !== 0) throw toolFailure('Moving filestore folders', result);
  return result.output;
}

/** An empty filestore folder owned by Odoo's user, made (or emptied) on the target's volume. */
export async function freshFilestoreFolder(plane: DataPlane, volume: string, folder: string): Promise<void> {
  await onDataVolume(
    plane,
    volume,
    `rm -rf -- "filestore/$1"; mkdir -p "filestore/$1"; chown ${ODOO_UID}:${ODOO_UID} . filestore "filestore/$1"`,
    [folder],
  );
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

/** Streams the filestore folder of a database out of its volume: (relative name, header, content). */
export async function eachFilestoreFile(
  carrier: DataAccess,
  db: string,
  handle: (relative: string, header: tarStream.Header, stream: Readable) => Promise<void>,
): Promise<void> {
  const tar = await carrier.read(`${FILESTORE_ROOT}/${checked(db)}`);
  // A database that never stored an attachment has no filestore folder: an empty filestore.
  if (!tar) return;
  await eachTarEntry(tar, async (header, stream) => {
    // Entries are named after the folder itself: "<db>/ab/abcdef…".
    const relative = header.name.split('/').slice(1).join('/');
    if (header.type !== 'file' || relative === '') return;
    await handle(relative, header, stream);
  });
}

/**
 * The network an imported dump.sql is loaded from: for a managed server, an internal network
 * (no route out) that holds the server and nothing else, so that psql reaches PostgreSQL only.
 */
export async function loadNetworkOf(plane: DataPlane): Promise<string> {
  const load = plane.loadNetwork;
  if (!load) return plane.network;
  await plane.runtime.ensureNetwork(load.name, namespaceLabels(plane.namespace, 'load-network'), { internal: true });
  await plane.runtime.connectNetwork(load.name, load.dbContainer, [plane.internal.host]);
  return load.name;
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
    // A run after a crash between the two moves finds no live folder: what it put aside stays.
    'cd filestore; if [ -d "$2" ]; then if [ -d "$1" ]; then rm -rf -- "$1.previous"; mv -- "$1" "$1.previous"; fi; mv -- "$2" "$1"; fi',
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

/** Where a clone's source volume is mounted, read-only, beside the target's (at ODOO_DATA_DIR). */
const CLONE_SOURCE = '/source';

/**
 * The copy of a filestore folder ($1 in the source volume) into a fresh folder ($2) of the target's.
 * A tenant's filestore is hostile: the folder is refused when it is a symbolic link, then entered
 * once and checked (a link swapped in before the `cd` shows in `pwd -P`); cp -R -P never follows a
 * link below it. Only folders and regular files stay, owned by Odoo's user. A link swapped in mid-copy
 * could at most lead cp into this container's own files, which hold no secret (no credentials, no
 * other mount); and what cp copies as links goes before the folder is ever used.
 */
const COPY_FILESTORE = `
cd ${ODOO_DATA_DIR}
rm -rf -- "filestore/$2"; mkdir -p "filestore/$2"; chown ${ODOO_UID}:${ODOO_UID} . filestore "filestore/$2"
to="$PWD/filestore/$2"; from="${CLONE_SOURCE}/filestore/$1"
if [ -L ${CLONE_SOURCE}/filestore ] || [ -L "$from" ]; then echo "refusing a filestore folder that is a symbolic link" >&2; exit 3; fi
# A database that never stored an attachment has no filestore folder: an empty filestore.
[ -d "$from" ] || exit 0
cd -P -- "$from"
if [ "$(pwd -P)" != "$from" ]; then echo "the filestore folder was replaced during the copy" >&2; exit 3; fi
cp -R -P -- . "$to"
find "$to" -mindepth 1 ! -type d ! -type f -exec rm -f -- {} +
chown -R ${ODOO_UID}:${ODOO_UID} "$to"
find "$to" -mindepth 1 -type d -exec chmod 0700 -- {} + -o -type f -exec chmod 0600 -- {} +
`;

/**
 * Copies one instance's filestore folder into another's volume in one tools container mounting both:
 * the bytes stay on the host (cp copies them in the kernel) instead of crossing Marina's process as
 * tar streams.
 */
export async function copyFilestore(
  plane: DataPlane,
  from: { volume: string; db: string },
  to: { volume: string; folder: string },
): Promise<void> {
  // Mounting a volume the engine lacks would make an empty one: a source on another host (instances
  // sharing an external database server) would be copied as an empty filestore, silently.
  if (!(await plane.runtime.volumeExists(from.volume)))
    throw new MarinaError(
      'MARINA_E_JOB_FAILED',
      "The source instance's files are not on the target's host: cloning between hosts is not supported yet.",
    );
  const result = await runTool(
    plane,
    'files',
    ['sh', '-euc', COPY_FILESTORE, 'sh', checked(from.db), checked(to.folder)],
    undefined,
    [
      { type: 'volume', source: from.volume, target: CLONE_SOURCE, readOnly: true },
      { type: 'volume', source: to.volume, target: ODOO_DATA_DIR },
    ],
    // Hostile files need no network.
    'none',
  );
  if (result.exitCode !== 0) throw toolFailure('Copying the filestore', result);
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

export const scratchMount = (plane: DataPlane): Mount[] => [
  { type: 'volume', source: scratchVolumeName(plane), target: SCRATCH },
];

/** What a dump in the scratch volume holds: the whole database, or its schema alone (a live copy's start). */
export type DumpPart = 'dump' | 'schema';

/**
 * pg_dump in directory format with parallel jobs into the scratch volume: a consistent snapshot
 * (the source's sessions go on). No compression: zstd over the whole archive is faster and
 * smaller than pg_dump's gzip.
 */
export async function dumpToScratch(
  plane: DataPlane,
  db: string,
  role: Credentials,
  part: DumpPart = 'dump',
): Promise<void> {
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
      // A move's publication is the move's, not the tenant's.
      '--no-publications',
      '--no-subscriptions',
      ...(part === 'schema' ? ['--schema-only'] : []),
      '--file',
      `${SCRATCH}/${part}`,
      '--dbname',
      checked(db),
    ],
    role,
    scratchMount(plane),
  );
  if (result.exitCode !== 0) throw toolFailure('pg_dump', result);
}

/** pg_restore of the scratch volume's dump in parallel, as the target's own role: it owns what it loads. */
export async function restoreFromScratch(
  plane: DataPlane,
  db: string,
  role: Credentials,
  part: DumpPart = 'dump',
): Promise<void> {
  const result = await runTool(
    plane,
    'restore',
    [
      'pg_restore',
      `--jobs=${plane.jobs}`,
      '--no-owner',
      '--no-privileges',
      '--dbname',
      checked(db),
      `${SCRATCH}/${part}`,
    ],
    role,
    scratchMount(plane),
  );
  if (result.exitCode !== 0) throw toolFailure('pg_restore', result);
}
