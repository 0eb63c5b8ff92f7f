/**
 * Native archives made beside the data. GNU tar and zstd run in tools containers on the volumes and
 * write each part of the archive into a file Marina made beside the backup (bind-mounted): the dump's
 * after the manifest Marina wrote, so that this file becomes the backup, and the filestore's into a
 * second file, appended to it in the kernel at the end. Marina only reads the parts for their
 * sha256 (in order, beside the append). No byte crosses the engine's API, which cost more
 * than pg_dump's whole run for a 1 GB instance (a 500 MB folder takes 2.6 s through it, 0.9 s as
 * `tar | zstd` on the host). The archive is the same `tar.zst` in parts as before: the manifest's
 * frame, the dump's, then the filestore's.
 *
 * It needs GNU tar, coreutils and zstd in the tools image (the official postgres images have them)
 * and an engine that sees Marina's files. A container that finds either missing exits with
 * BESIDE_UNAVAILABLE before doing anything, and the caller archives through the engine instead.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, zstdCompressSync } from 'node:zlib';
import {
  type BackupFileWriter,
  Digest,
  DUMP_PART_SUFFIX,
  FILES_PART_SUFFIX,
} from '../../adapters/archive/backup-file.js';
import { fileEntry } from '../../adapters/archive/tar-rename.js';
import { MANIFEST } from '../../odoo/backup-archive.js';
import type { RunResult } from '../../runtime/port.js';
import { ODOO_DATA_DIR } from '../instances/odoo-container.js';
import type { ArchiveSource } from './archive-write.js';
import { checked, type DataPlane, runTool, scratchMount, toolFailure } from './data-plane.js';

/** The exit code of a tools container that cannot work beside the data (and did nothing). */
export const BESIDE_UNAVAILABLE = 75;
const PART = '/out/part';
const READ_CHUNK = 1024 * 1024;

/**
 * $1 is the sha256 of what Marina wrote into the part's file before: a container that reads the
 * same shares Marina's files. Each container appends to its file.
 */
const PREAMBLE = `
if ! [ -f ${PART} ] || [ "$(sha256sum < ${PART} | cut -d ' ' -f 1)" != "$1" ]; then echo "the engine does not see Marina's files" >&2; exit ${BESIDE_UNAVAILABLE}; fi
if ! command -v zstd >/dev/null || ! tar --version 2>/dev/null | grep -q 'GNU tar' || ! head --version 2>/dev/null | grep -q coreutils || ! find --version 2>/dev/null | grep -q GNU; then
  echo "the tools image lacks GNU tar, GNU find, coreutils or zstd" >&2; exit ${BESIDE_UNAVAILABLE}
fi
`;

/** tar writes 32 KiB records: one block per record was a write(2) per 512 bytes, 5× slower. */
const BLOCKING = 64;

/**
 * Regular files only, named from `find`'s list (a link is never followed, a hard link is stored as
 * a file), mode 0600 and owner 0 as Marina's archives always had.
 */
const TAR = `tar --create --file=- --format=gnu --blocking-factor=${BLOCKING} --owner=0 --group=0 --numeric-owner --mode=0600 --hard-dereference --null --no-recursion --files-from=-`;

/**
 * pg_dump -Fd -j N into the scratch volume (as `dumpToScratch` runs it), then its folder as the
 * archive's dump part. $2 the database, $3 the jobs, $4 `more` when the filestore part follows. Then
 * tar's end (two zero blocks, and zeros up to a whole record) is left off: pg_dump's names are
 * short, so each file is one header block and its content in whole blocks, and where the end
 * starts is counted from the sizes. What is left off is checked to be exactly that end. After
 * pg_dump the cores are free: zstd takes both.
 */
const DUMP_PART = `set -euo pipefail
${PREAMBLE}
pg_dump --format=directory --jobs="$3" --compress=0 --no-owner --no-privileges --no-publications --no-subscriptions --file /scratch/dump --dbname "$2"
cd /scratch/dump
if [ "$4" != more ]; then
  find . -type f -print0 | ${TAR} --transform='s,^\\./,dump/,' | zstd -1 -T0 -q -c >> ${PART}
  exit 0
fi
if find . -type f -printf '%P\\n' | grep -q '.\\{90,\\}'; then echo "pg_dump wrote a file name too long to count" >&2; exit 4; fi
content=0
while IFS= read -r size; do content=$((content + 512 + (size + 511) / 512 * 512)); done < <(find . -type f -printf '%s\\n')
record=$((512 * ${BLOCKING}))
end=$(((content + 1024 + record - 1) / record * record - content))
find . -type f -print0 | ${TAR} --transform='s,^\\./,dump/,' | { head -c "$content"; cat > /scratch/dump-end; } | zstd -1 -T0 -q -c >> ${PART}
if [ "$(stat -c %s /scratch/dump-end)" -ne "$end" ] || [ "$(tr -d '\\000' < /scratch/dump-end | wc -c)" -ne 0 ]; then
  echo "tar's end was not where it was counted" >&2; exit 4
fi
`;

/**
 * The filestore folder $2 as the archive's last part. A tenant's filestore is hostile: the folder
 * is refused when it is a symbolic link, and checked once entered (see COPY_FILESTORE). A database
 * that never stored an attachment has no folder: an empty part. zstd takes one core, beside pg_dump.
 */
const FILES_PART = `set -euo pipefail
${PREAMBLE}
from="${ODOO_DATA_DIR}/filestore/$2"
if [ -L ${ODOO_DATA_DIR}/filestore ] || [ -L "$from" ]; then echo "refusing a filestore folder that is a symbolic link" >&2; exit 3; fi
if [ -d "$from" ]; then
  cd -P -- "$from"
  if [ "$(pwd -P)" != "$from" ]; then echo "the filestore folder was replaced during the backup" >&2; exit 3; fi
  find . -type f -print0 | ${TAR} --transform='s,^\\./,filestore/,' | zstd -1 -q -c >> ${PART}
else
  ${TAR} < /dev/null | zstd -1 -q -c >> ${PART}
fi
`;

export interface BesideOptions {
  log: (message: string) => void;
  /** The bytes the containers have written so far, every half second while they run. */
  onMade?: (bytes: number) => void;
}

/**
 * Makes the native archive of `source` beside the data and hands it to `writer` whole (adopt).
 * Returns false, having written nothing, when the tools image or the engine cannot.
 */
export async function writeNativeBeside(
  plane: DataPlane,
  source: ArchiveSource,
  writer: BackupFileWriter,
  options: BesideOptions,
): Promise<boolean> {
  const withDb = source.kind !== 'filestore';
  const withFiles = source.kind !== 'database';
  const dumpPart = writer.path + DUMP_PART_SUFFIX;
  const filesPart = writer.path + FILES_PART_SUFFIX;
  // The file that becomes the backup: the manifest, then the first part.
  const head = withDb ? dumpPart : filesPart;
  const manifest = manifestFrame(source);
  const started = performance.now();
  const took = (from: number) => `${((performance.now() - from) / 1000).toFixed(1)} s`;
  try {
    await writeFile(head, manifest, { mode: 0o600, flag: 'wx' });
    if (withDb && withFiles) await writeFile(filesPart, '', { mode: 0o600, flag: 'wx' });
    const begun = (part: string) => sha256Hex(part === head ? manifest : Buffer.alloc(0));
    const parts = [...(withDb ? [dumpPart] : []), ...(withFiles ? [filesPart] : [])];
    const runs: Promise<RunResult>[] = [];
    if (withDb) {
      const more = withFiles ? 'more' : 'last';
      const command = ['bash', '-c', DUMP_PART, 'bash', begun(dumpPart), checked(source.db), String(plane.jobs), more];
      const mounts = [...scratchMount(plane), { type: 'bind' as const, source: dumpPart, target: PART }];
      runs.push(
        besideRun(runTool(plane, 'dump-part', command, source.role, mounts)).then((result) => {
          options.log(`pg_dump and the dump's part took ${took(started)}.`);
          return result;
        }),
      );
    }
    if (withFiles) {
      const command = ['bash', '-c', FILES_PART, 'bash', begun(filesPart), checked(source.db)];
      const mounts = [
        { type: 'volume' as const, source: source.volume, target: ODOO_DATA_DIR, readOnly: true },
        { type: 'bind' as const, source: filesPart, target: PART },
      ];
      // Hostile files need no network.
      runs.push(
        besideRun(runTool(plane, 'files-part', command, undefined, mounts, 'none')).then((result) => {
          options.log(`The filestore's part took ${took(started)}${withDb ? ', beside pg_dump' : ''}.`);
          return result;
        }),
      );
    }
    const watching = setInterval(() => void sizeOf(parts).then(options.onMade), 500);
    // Both end before either failure is reported: nothing keeps running after the job.
    const results = await Promise.allSettled(runs).finally(() => clearInterval(watching));
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    const exits = results.map((r) => (r as PromiseFulfilledResult<RunResult>).value);
    const unavailable = exits.find((r) => r.exitCode === BESIDE_UNAVAILABLE);
    if (unavailable) {
      options.log(`Archiving through the engine instead: ${unavailable.output.trim().split('\n').at(-1) ?? ''}.`);
      return false;
    }
    exits.forEach((result, index) => {
      if (result.exitCode !== 0) throw toolFailure(withDb && index === 0 ? 'pg_dump or tar' : 'tar', result);
    });
    const joining = performance.now();
    const sizes = await Promise.all(parts.map((part) => stat(part).then((s) => s.size)));
    const timed = <T>(work: Promise<T>) => work.then((value) => ({ value, took: took(joining) }));
    const [appended, hashed] = await Promise.all([
      timed(withDb && withFiles ? appendFile(filesPart, dumpPart) : Promise.resolve()),
      timed(sha256Of(parts.map((path, i) => ({ path, bytes: sizes[i] ?? 0 })))),
    ]);
    const sha256 = hashed.value;
    const sizeBytes = sizes.reduce((a, b) => a + b, 0);
    const written = (await stat(head)).size;
    if (written !== sizeBytes) throw new Error(`the archive holds ${written} bytes, not the parts' ${sizeBytes}`);
    await writer.adopt(head, { sha256, sizeBytes });
    options.log(`The parts were joined in ${appended.took} and hashed in ${hashed.took}, beside.`);
    return true;
  } finally {
    await rm(dumpPart, { force: true });
    await rm(filesPart, { force: true });
  }
}

/**
 * A tools container that cannot be made because its bind source is not on the engine's host
 * (a remote engine) cannot work beside the data either: the same as a container that said so.
 */
async function besideRun(run: Promise<RunResult>): Promise<RunResult> {
  try {
    return await run;
  } catch (error) {
    if (!/bind source path does not exist/i.test((error as Error).message)) throw error;
    return { exitCode: BESIDE_UNAVAILABLE, output: "the engine does not see Marina's files" };
  }
}

/** `cat part >> archive`: the kernel copies the bytes (copy_file_range), none pass through Marina. */
async function appendFile(part: string, archive: string): Promise<void> {
  const target = await open(archive, 'a');
  try {
    const cat = spawn('cat', ['--', part], { stdio: ['ignore', target.fd, 'pipe'] });
    let errors = '';
    cat.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      cat.on('error', reject);
      cat.on('close', resolve);
    });
    if (code !== 0) throw new Error(`appending the filestore's part failed: ${errors.trim()}`);
  } finally {
    await target.close();
  }
}

/**
 * The sha256 of the files' first bytes one after another: the archive's, read from its parts
 * through the backup writer's own Digest (which also lets Marina collect the Buffers as they go).
 */
async function sha256Of(files: { path: string; bytes: number }[]): Promise<string> {
  const digest = new Digest();
  digest.resume();
  for (const { path, bytes } of files) {
    if (bytes === 0) continue;
    await pipeline(createReadStream(path, { highWaterMark: READ_CHUNK, end: bytes - 1 }), digest, { end: false });
  }
  return digest.hex();
}

const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function sizeOf(parts: string[]): Promise<number> {
  const sizes = await Promise.all(
    parts.map((part) =>
      stat(part).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/** The manifest, the archive's first entry, as a zstd frame of its own. */
function manifestFrame(source: ArchiveSource): Buffer {
  const entry = fileEntry(MANIFEST, Buffer.from(JSON.stringify(source.manifest, null, 4)));
  return zstdCompressSync(entry, { params: { [zlibConstants.ZSTD_c_compressionLevel]: 1 } });
}
