/**
 * Native archives made beside the data. GNU tar and zstd run in tools containers on the volumes and
 * write each part of the archive into a file Marina made beside the backup (bind-mounted): the dump's
 * after the manifest Marina wrote, so that this file becomes the backup, and the filestore's into a
 * second file, appended to it in the kernel at the end. Marina only reads the parts for their
 * sha256, in order and as the containers write them. No byte crosses the engine's API, which cost more
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
import { open, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { constants as zlibConstants, zstdCompressSync } from 'node:zlib';
import {
  type BackupFileWriter,
  Digest,
  DUMP_PART_SUFFIX,
  FILES_PART_SUFFIX,
} from '../../adapters/archive/backup-file.js';
import { fileEntry } from '../../adapters/archive/tar-rename.js';
import { MANIFEST } from '../../odoo/backup-archive.js';
import type { Mount, RunResult } from '../../runtime/port.js';
import { ODOO_DATA_DIR } from '../instances/odoo-container.js';
import type { ArchiveSource } from './archive-write.js';
import {
  type Credentials,
  checked,
  type DataPlane,
  removeScratch,
  scratchMount,
  toolFailure,
  toolSpec,
} from './data-plane.js';

/** The exit code of a tools container that cannot work beside the data (and did nothing). */
export const BESIDE_UNAVAILABLE = 75;
const PART = '/out/part';
const READ_CHUNK = 1024 * 1024;
/** How often a part still being written is looked at again for its new bytes. */
const FOLLOW_MS = 50;

/**
 * What a tools container says on lines of their own: that it can work beside the data and starts
 * (BEGAN), and, as it exits, that its part is written, with when it began, when pg_dump ended (the
 * dump's) and when it ended. tar's own messages start with "tar: ".
 */
const BEGAN = 'marina-began';
const ENDED = 'marina-ended';

/**
 * $1 is the sha256 of what Marina wrote into the part's file before: a container that reads the
 * same shares Marina's files. Each container appends to its file.
 */
const PREAMBLE = `
if ! [ -f ${PART} ] || [ "$(sha256sum < ${PART} | cut -d ' ' -f 1)" != "$1" ]; then echo "the engine does not see Marina's files" >&2; exit ${BESIDE_UNAVAILABLE}; fi
if ! command -v zstd >/dev/null || ! tar --version 2>/dev/null | grep -q 'GNU tar' || ! dd --version 2>/dev/null | grep -q coreutils || ! find --version 2>/dev/null | grep -q GNU; then
  echo "the tools image lacks GNU tar, GNU find, coreutils or zstd" >&2; exit ${BESIDE_UNAVAILABLE}
fi
began=$EPOCHREALTIME
echo ${BEGAN} >&2
trap 'echo "${ENDED} $began \${dumped:-} $EPOCHREALTIME" >&2' EXIT
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
 * starts is counted from the sizes. What is left off is checked to be exactly that end. dd cuts
 * it in 1 MiB pieces: `head -c` copies 8 KiB at a time, which doubled the part's time (0.9 → 1.8 s
 * for 470 MB). After pg_dump the cores are free: zstd takes both.
 */
const DUMP_PART = `set -euo pipefail
${PREAMBLE}
pg_dump --format=directory --jobs="$3" --compress=0 --no-owner --no-privileges --no-publications --no-subscriptions --file /scratch/dump --dbname "$2"
dumped=$EPOCHREALTIME
cd /scratch/dump
if [ "$4" != more ]; then
  find . -type f -print0 | ${TAR} --remove-files --transform='s,^\\./,dump/,' | zstd -1 -T0 -q -c >> ${PART}
  exit 0
fi
if find . -type f -printf '%P\\n' | grep -q '.\\{90,\\}'; then echo "pg_dump wrote a file name too long to count" >&2; exit 4; fi
content=0
while IFS= read -r size; do content=$((content + 512 + (size + 511) / 512 * 512)); done < <(find . -type f -printf '%s\\n')
record=$((512 * ${BLOCKING}))
end=$(((content + 1024 + record - 1) / record * record - content))
find . -type f -print0 | ${TAR} --remove-files --transform='s,^\\./,dump/,' | { dd bs=1M iflag=fullblock,count_bytes count="$content" status=none; cat > /scratch/dump-end; } | zstd -1 -T0 -q -c >> ${PART}
if [ "$(stat -c %s /scratch/dump-end)" -ne "$end" ] || [ "$(tr -d '\\000' < /scratch/dump-end | wc -c)" -ne 0 ]; then
  echo "tar's end was not where it was counted" >&2; exit 4
fi
`;

/** "pg_dump took 4.9 s; its folder was archived in 0.8 s." from the dump's container, when it said. */
export function dumpTimes(output: string): string | undefined {
  const line = output.split('\n').find((l) => l.startsWith(`${ENDED} `));
  const [began, dumped, done] = (line ?? '')
    .split(' ')
    .slice(1)
    .map((v) => (v === '' ? Number.NaN : Number(v)));
  if (began === undefined || dumped === undefined || done === undefined || [began, dumped, done].some(Number.isNaN))
    return undefined;
  return `pg_dump took ${(dumped - began).toFixed(1)} s; its folder was archived in ${(done - dumped).toFixed(1)} s.`;
}

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
  let hashing: Promise<void> = Promise.resolve();
  try {
    await writeFile(head, manifest, { mode: 0o600, flag: 'wx' });
    if (withDb && withFiles) await writeFile(filesPart, '', { mode: 0o600, flag: 'wx' });
    const begun = (part: string) => sha256Hex(part === head ? manifest : Buffer.alloc(0));
    const parts = [...(withDb ? [dumpPart] : []), ...(withFiles ? [filesPart] : [])];
    let dump: BesideRun | undefined;
    if (withDb) {
      const more = withFiles ? 'more' : 'last';
      const command = ['bash', '-c', DUMP_PART, 'bash', begun(dumpPart), checked(source.db), String(plane.jobs), more];
      const mounts = [...scratchMount(plane), { type: 'bind' as const, source: dumpPart, target: PART }];
      dump = runBeside(plane, 'dump-part', command, source.role, mounts);
      dump.result.then((result) => {
        options.log(`pg_dump and the dump's part took ${took(started)}.`);
        const times = result.exitCode === 0 ? dumpTimes(result.output) : undefined;
        if (times) options.log(times);
      }, noop);
    }
    let files: Promise<BesideRun> | undefined;
    if (withFiles) {
      const command = ['bash', '-c', FILES_PART, 'bash', begun(filesPart), checked(source.db)];
      const mounts = [
        { type: 'volume' as const, source: source.volume, target: ODOO_DATA_DIR, readOnly: true },
        { type: 'bind' as const, source: filesPart, target: PART },
      ];
      // The dump's container starts first, alone: it is the longer way, and two containers starting
      // at once slow each other down. Hostile files need no network.
      files = (dump?.began ?? Promise.resolve()).then(() => {
        const run = runBeside(plane, 'files-part', command, undefined, mounts, 'none');
        run.result.then(
          () => options.log(`The filestore's part took ${took(started)}${withDb ? ', beside pg_dump' : ''}.`),
          noop,
        );
        return run;
      });
    }
    const runs = [...(dump ? [dump.result] : []), ...(files ? [files.then((run) => run.result)] : [])];
    const writtenOut = [...(dump ? [dump.ended] : []), ...(files ? [files.then((run) => run.ended)] : [])];
    // Each part is hashed as its container writes it, in the archive's order (sha256 is sequential):
    // what is left at the end is the rest of the last part, not every byte again.
    const digest = new Digest();
    const firstHashed = hashWhileWritten(digest, parts[0] ?? head, writtenOut[0] ?? Promise.resolve());
    hashing = firstHashed.then(async () => {
      if (parts[1] && writtenOut[1]) await hashWhileWritten(digest, parts[1], writtenOut[1]);
    });
    hashing.catch(noop);
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
    // pg_dump's folder is in the parts now: it goes beside the join. A failure here fails nothing:
    // the caller removes the scratch again, and says so if it still cannot.
    const scratchRemoved = removeScratch(plane).catch(() => undefined);
    const sizes = await Promise.all(parts.map((part) => stat(part).then((s) => s.size)));
    // The first part is hashed to its end before the second is appended to it.
    await firstHashed;
    const timed = <T>(work: Promise<T>) => work.then((value) => ({ value, took: took(joining) }));
    const [appended, hashed] = await Promise.all([
      timed(withDb && withFiles ? appendFile(filesPart, dumpPart) : Promise.resolve()),
      timed(hashing),
      scratchRemoved,
    ]);
    const sizeBytes = sizes.reduce((a, b) => a + b, 0);
    if (digest.bytes !== sizeBytes) throw new Error(`${digest.bytes} bytes were hashed, not the parts' ${sizeBytes}`);
    const written = (await stat(head)).size;
    if (written !== sizeBytes) throw new Error(`the archive holds ${written} bytes, not the parts' ${sizeBytes}`);
    await writer.adopt(head, { sha256: digest.hex(), sizeBytes });
    if (withDb && withFiles) await dropInBackground(filesPart);
    options.log(`The parts were joined in ${appended.took}; the rest was hashed in ${hashed.took}, beside.`);
    return true;
  } finally {
    // Read through an open handle, a removed part would still be hashed: the reading ends first.
    await hashing.catch(() => undefined);
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

interface BesideRun {
  result: Promise<RunResult>;
  /** The container can work beside the data and starts (or it ended without saying so). */
  began: Promise<void>;
  /** Its part is written: the script is exiting (or the run ended without saying so). */
  ended: Promise<void>;
}

/** A tools container, followed through the lines it says of itself (BEGAN, ENDED). */
function runBeside(
  plane: DataPlane,
  suffix: string,
  command: string[],
  credentials: Credentials | undefined,
  mounts: Mount[],
  network?: string,
): BesideRun {
  let began: () => void = noop;
  let ended: () => void = noop;
  const beganP = new Promise<void>((resolve) => {
    began = resolve;
  });
  const endedP = new Promise<void>((resolve) => {
    ended = resolve;
  });
  const onOutput = wholeLines((line) => {
    if (line === BEGAN) began();
    else if (line.startsWith(`${ENDED} `)) ended();
  });
  const spec = toolSpec(plane, suffix, command, credentials, mounts, network);
  const result = besideRun(plane.runtime.run(spec, { onOutput }));
  result
    .finally(() => {
      began();
      ended();
    })
    .catch(noop);
  return { result, began: beganP, ended: endedP };
}

const noop = () => undefined;

/**
 * Output arrives in pieces that cut lines anywhere: `onLine` gets whole lines. A line longer than
 * 4 KiB is cut short, and what is kept of it never reads as a line's start.
 */
export function wholeLines(onLine: (line: string) => void): (text: string) => void {
  let pending = '';
  return (text) => {
    const lines = (pending + text).split('\n');
    const rest = lines.pop() ?? '';
    pending = rest.length > 4096 ? `\0${rest.slice(-4096)}` : rest;
    for (const line of lines) onLine(line);
  };
}

/**
 * Removes a part that is in the archive now. Freeing a file's pages waits for their writeback (0.4 s
 * for 525 MB just written): its name goes at once, and its last handle is closed in the background.
 * Nothing is left on disk even if Marina stops before that close.
 */
async function dropInBackground(path: string): Promise<void> {
  const last = await open(path, 'r');
  await rm(path, { force: true });
  last.close().catch(noop);
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
 * Hashes `path` from its start while a container appends to it, and to its end once `writing`
 * settles. One Buffer is reused: the hash takes each piece at once.
 */
export async function hashWhileWritten(digest: Digest, path: string, writing: Promise<unknown>): Promise<void> {
  let ended = false;
  const settled = writing.then(
    () => {
      ended = true;
    },
    () => {
      ended = true;
    },
  );
  const file = await open(path, 'r');
  const buffer = Buffer.allocUnsafe(READ_CHUNK);
  try {
    let position = 0;
    for (;;) {
      // Read after the writer ended, an empty read is the end; before, it is only the end so far.
      const last = ended;
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead > 0) {
        digest.add(buffer.subarray(0, bytesRead));
        position += bytesRead;
      } else if (last) return;
      else await Promise.race([settled, delay(FOLLOW_MS)]);
    }
  } finally {
    await file.close();
  }
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
