/**
 * Native archives made beside the data. GNU tar and zstd run in tools containers on the volumes and
 * write each part of the archive into a file Marina made beside the backup (bind-mounted): the dump's
 * after the manifest Marina wrote, and the filestore's into a second file; the two are joined at the
 * end (part-join). The scripts are in beside-scripts. Marina only reads the parts for their sha256,
 * in order and as the containers write them. No byte crosses the engine's API, which cost more than
 * pg_dump's whole run for a 1 GB instance (a 500 MB folder takes 2.6 s through it, 0.9 s as
 * `tar | zstd` on the host). The archive is the same `tar.zst` in parts as before: the manifest's
 * frame, the dump's, a skippable frame up to a whole block, then the filestore's.
 *
 * It needs GNU tar, coreutils and zstd in the tools image (the official postgres images have them)
 * and an engine that sees Marina's files. A container that finds either missing exits with
 * BESIDE_UNAVAILABLE before doing anything, and the caller archives through the engine instead.
 */
import { createHash } from 'node:crypto';
import { open, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { constants as zlibConstants, zstdCompressSync } from 'node:zlib';
import {
  type BackupFileWriter,
  Digest,
  DUMP_PART_SUFFIX,
  FILES_PART_SUFFIX,
  PROBE_SUFFIX,
} from '../../adapters/archive/backup-file.js';
import { fileEntry } from '../../adapters/archive/tar-rename.js';
import { MANIFEST } from '../../odoo/backup-archive.js';
import type { Mount, RunResult } from '../../runtime/port.js';
import { ODOO_DATA_DIR } from '../instances/odoo-container.js';
import type { ArchiveSource } from './archive-write.js';
import {
  BEGAN,
  BESIDE_UNAVAILABLE,
  DUMP_PART,
  ENDED,
  FILES_PART,
  FOLLOW_FROM_BYTES,
  FOLLOWED,
  PART,
} from './beside-scripts.js';
import {
  type Credentials,
  checked,
  type DataPlane,
  removeScratch,
  scratchMount,
  toolFailure,
  toolSpec,
} from './data-plane.js';
import { appendAfter, blockOf, canInsertInFront, FlushBehind, padAfter, putInFront } from './part-join.js';

const READ_CHUNK = 1024 * 1024;
/** The filestore's container's CPU weight beside pg_dump (the engine's default is 1024). */
const BESIDE_PG_DUMP_SHARES = 256;
/** How often a part still being written is looked at again for its new bytes. */
const FOLLOW_MS = 50;

/**
 * "pg_dump took 4.9 s (1 data file compressed as it wrote them); its folder was archived in 0.3 s."
 * from the dump's container, when it said.
 */
export function dumpTimes(output: string): string | undefined {
  const line = output.split('\n').find((l) => l.startsWith(`${ENDED} `));
  const [began, dumped, done] = (line ?? '')
    .split(' ')
    .slice(1)
    .map((v) => (v === '' ? Number.NaN : Number(v)));
  if (began === undefined || dumped === undefined || done === undefined || [began, dumped, done].some(Number.isNaN))
    return undefined;
  const [followed = 0, early = 0] = (
    output
      .split('\n')
      .find((l) => l.startsWith(`${FOLLOWED} `))
      ?.split(' ')
      .slice(1, 3) ?? []
  ).map((v) => Number(v) || 0);
  const during = [
    followed > 0 ? `${followed} data file${followed === 1 ? '' : 's'} compressed as it wrote them` : '',
    early > 0 ? `${early} archived once written` : '',
  ].filter(Boolean);
  const whileDumped = during.length > 0 ? ` (${during.join(', ')})` : '';
  return `pg_dump took ${(dumped - began).toFixed(1)} s${whileDumped}; its folder was archived in ${(done - dumped).toFixed(1)} s.`;
}

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
  const joined = withDb && withFiles;
  let hashing: Promise<void> = Promise.resolve();
  let flush: FlushBehind | undefined;
  try {
    await writeFile(head, manifest, { mode: 0o600, flag: 'wx' });
    if (joined) await writeFile(filesPart, '', { mode: 0o600, flag: 'wx' });
    // Where the head can go in front of the filestore's part, that part is flushed while it is written.
    const inFront = joined && (await canInsertInFront(writer.path + PROBE_SUFFIX));
    if (inFront) flush = new FlushBehind(filesPart);
    const begun = (part: string) => sha256Hex(part === head ? manifest : Buffer.alloc(0));
    const parts = [...(withDb ? [dumpPart] : []), ...(withFiles ? [filesPart] : [])];
    let dump: BesideRun | undefined;
    if (withDb) {
      const more = withFiles ? 'more' : 'last';
      const followFrom = String(Math.max(1, plane.followDumpFromBytes ?? FOLLOW_FROM_BYTES));
      const command = [
        ...['bash', '-c', DUMP_PART, 'bash'],
        ...[begun(dumpPart), checked(source.db), String(plane.jobs), more, followFrom],
      ];
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
      // at once slow each other down. Hostile files need no network. Beside pg_dump, it takes a
      // quarter of the weight: on a host short of CPU, it was slowing down PostgreSQL's COPY.
      const shares = withDb ? BESIDE_PG_DUMP_SHARES : undefined;
      files = (dump?.began ?? Promise.resolve()).then(() => {
        const run = runBeside(plane, 'files-part', command, undefined, mounts, 'none', shares);
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
    // Once the head is whole, what goes between it and the filestore's part is known (part-join).
    const padding = firstHashed.then(async () =>
      joined ? padAfter((await stat(head)).size, await blockOf(head)) : Buffer.alloc(0),
    );
    hashing = padding.then(async (pad) => {
      digest.add(pad);
      if (parts[1] && writtenOut[1]) await hashWhileWritten(digest, parts[1], writtenOut[1]);
    });
    hashing.catch(noop);
    const watching = setInterval(() => {
      void sizeOf(parts).then(options.onMade);
      flush?.tick();
    }, 500);
    // Both end before either failure is reported: nothing keeps running after the job.
    const results = await Promise.allSettled(runs).finally(() => clearInterval(watching));
    await flush?.close();
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
    const pad = await padding;
    const timed = <T>(work: Promise<T>) => work.then((value) => ({ value, took: took(joining) }));
    // Room opened in front of the filestore's part moves its bytes, so they are read first; a copy
    // after the head reads them beside.
    const join = async (): Promise<string> => {
      if (!joined) return head;
      if (inFront) {
        await hashing;
        if (await putInFront(head, pad, filesPart)) return filesPart;
      }
      await appendAfter(head, pad, filesPart);
      return head;
    };
    const [archive, hashed] = await Promise.all([timed(join()), timed(hashing), scratchRemoved]);
    const sizeBytes = sizes.reduce((a, b) => a + b, 0) + pad.length;
    if (digest.bytes !== sizeBytes) throw new Error(`${digest.bytes} bytes were hashed, not the parts' ${sizeBytes}`);
    const written = (await stat(archive.value)).size;
    if (written !== sizeBytes) throw new Error(`the archive holds ${written} bytes, not the parts' ${sizeBytes}`);
    await writer.adopt(archive.value, { sha256: digest.hex(), sizeBytes });
    if (joined) await dropInBackground(archive.value === head ? filesPart : head);
    const how = archive.value === head ? '' : ' in place';
    options.log(`The parts were joined${how} in ${archive.took}; the rest was hashed in ${hashed.took}, beside.`);
    return true;
  } finally {
    // Read through an open handle, a removed part would still be hashed: the reading ends first.
    await hashing.catch(() => undefined);
    await flush?.close();
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
  shares?: number,
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
  if (shares !== undefined) spec.limits = { ...spec.limits, cpuShares: shares };
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
