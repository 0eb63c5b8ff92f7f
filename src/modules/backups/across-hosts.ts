/**
 * Data between two hosts (a move between cluster nodes): each side has its own data plane (its
 * engine, its database server); the bytes cross Marina's process as tar streams, from a carrier on
 * one host into a carrier on the other, never held whole in memory.
 */
import { Writable } from 'node:stream';
import { eachTarEntry, TarSink } from '../../adapters/archive/tar-sink.js';
import { safeEntryName } from '../../odoo/backup-archive.js';
import { ODOO_DATA_DIR, ODOO_UID } from '../instances/odoo-container.js';
import {
  type Credentials,
  checked,
  type DataPlane,
  type DumpPart,
  dumpToScratch,
  eachFilestoreFile,
  FILESTORE_ROOT,
  restoreFromScratch,
  SCRATCH,
  toolFailure,
  toolSpec,
  withCarrier,
} from './data-plane.js';

/** One file of a filestore folder as a listing sees it: its size and modification second. */
export interface ListedFile {
  size: number;
  mtime: number;
}

/** The regular files of a filestore folder, by relative name; empty when the folder does not exist. */
export async function listFilestore(
  plane: DataPlane,
  volume: string,
  folder: string,
): Promise<Map<string, ListedFile>> {
  let text = '';
  const collect = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  const result = await plane.runtime.runStreaming(
    toolSpec(
      plane,
      'index',
      [
        'sh',
        '-euc',
        // NUL-terminated records: a tenant's file name may hold a newline.
        `cd "${FILESTORE_ROOT}/$1" 2>/dev/null || exit 0
find . -mindepth 1 -type f -printf '%s %T@ %P\\0'`,
        'sh',
        checked(folder),
      ],
      undefined,
      [{ type: 'volume', source: volume, target: ODOO_DATA_DIR, readOnly: true }],
      'none',
    ),
    collect,
  );
  if (result.exitCode !== 0) throw toolFailure('Listing the filestore', result);
  const files = new Map<string, ListedFile>();
  for (const record of text.split('\0')) {
    const match = /^(\d+) (\d+)(?:\.\d+)? (.+)$/s.exec(record);
    if (match) files.set(match[3] as string, { size: Number(match[1]), mtime: Number(match[2]) });
  }
  return files;
}

/** What of `source` the target lacks or holds differently, and what it holds that the source no longer does. */
export function filestoreDelta(
  source: Map<string, ListedFile>,
  target: Map<string, ListedFile>,
): { copy: string[]; remove: string[] } {
  const copy: string[] = [];
  for (const [name, file] of source) {
    const there = target.get(name);
    if (!there || there.size !== file.size || there.mtime !== file.mtime) copy.push(name);
  }
  const remove = [...target.keys()].filter((name) => !source.has(name));
  return { copy, remove };
}

/**
 * Copies filestore files from one host's volume into the same folder of another host's: all of
 * them, or only the `names` given (then one read per file: what changed is a few files). Only
 * regular files cross, under checked names, owned by Odoo's user, their modification time kept
 * (the next delta compares it).
 */
export async function copyFilestoreAcross(
  from: { plane: DataPlane; volume: string },
  to: { plane: DataPlane; volume: string },
  folder: string,
  options: { names?: string[]; onBytes?: (bytes: number) => void } = {},
): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  await withCarrier(from.plane, { data: from.volume }, 'source', (source) =>
    withCarrier(to.plane, { data: to.volume }, 'carrier', async (target) => {
      const sink = new TarSink((tar) => target.write(FILESTORE_ROOT, tar), { uid: ODOO_UID, gid: ODOO_UID });
      const add = async (relative: string, header: { size?: number; mtime?: Date }, content: NodeJS.ReadableStream) => {
        const size = header.size ?? 0;
        await sink.add(
          { name: `${checked(folder)}/${safeEntryName(relative)}`, size, mode: 0o600, mtime: header.mtime },
          content as never,
        );
        files++;
        bytes += size;
        options.onBytes?.(bytes);
      };
      try {
        if (options.names) {
          for (const name of options.names) {
            const tar = await source.read(`${FILESTORE_ROOT}/${checked(folder)}/${safeEntryName(name)}`);
            // Deleted since the listing: nothing to copy.
            if (!tar) continue;
            await eachTarEntry(tar, async (header, stream) => {
              if (header.type !== 'file') {
                stream.resume();
                return;
              }
              await add(name, header, stream);
            });
          }
        } else {
          await eachFilestoreFile(source, folder, (relative, header, stream) => add(relative, header, stream));
        }
        await sink.close();
      } catch (error) {
        sink.destroy();
        throw error;
      }
    }),
  );
  return { files, bytes };
}

/** Files named like Odoo's own (`ab/abcdef…`, a sha1): only these are ever deleted on a target. */
const STORE_NAME = /^[0-9a-f]{2}\/[0-9a-f]{40}$/;

/** Deletes from the target's filestore folder the files the source no longer has. */
export async function removeFilestoreFiles(plane: DataPlane, volume: string, folder: string, names: string[]) {
  const removable = names.filter((name) => STORE_NAME.test(name));
  for (let i = 0; i < removable.length; i += 500) {
    const result = await plane.runtime.run(
      toolSpec(
        plane,
        'files',
        [
          'sh',
          '-euc',
          `cd "${FILESTORE_ROOT}/$1"; shift; rm -f -- "$@"`,
          'sh',
          checked(folder),
          ...removable.slice(i, i + 500),
        ],
        undefined,
        [{ type: 'volume', source: volume, target: ODOO_DATA_DIR }],
        'none',
      ),
    );
    if (result.exitCode !== 0) throw toolFailure('Removing deleted filestore files', result);
  }
  return removable.length;
}

/**
 * A database copied from one host's server into another's: pg_dump in parallel into the source's
 * scratch volume, the dump streamed into the target's, pg_restore in parallel there. Each side runs
 * as the database's own role.
 */
export async function copyDatabaseAcross(
  from: { plane: DataPlane; db: string; role: Credentials },
  to: { plane: DataPlane; db: string; role: Credentials },
  part: DumpPart = 'dump',
): Promise<void> {
  await dumpToScratch(from.plane, from.db, from.role, part);
  // Carriers named apart from the filestore's: both copies run at once during a move's downtime.
  await withCarrier(from.plane, { scratch: true }, 'dump-from', (source) =>
    withCarrier(to.plane, { scratch: true }, 'dump-to', async (target) => {
      const dump = await source.read(`${SCRATCH}/${part}`);
      if (!dump) throw new Error('pg_dump left no dump in the scratch volume');
      await target.write(SCRATCH, dump);
    }),
  );
  await restoreFromScratch(to.plane, to.db, to.role, part);
}
