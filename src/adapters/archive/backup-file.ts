import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { noteStreamed } from '../stream-garbage.js';

/** A backup being written goes under this suffix; only a finished, synced file gets its real name. */
export const PARTIAL_SUFFIX = '.partial';
/** Bytes written before their place in the backup is reached (the filestore, beside pg_dump). */
export const LATER_PART_SUFFIX = '.later.partial';
/** The archive's parts made beside the data by tools containers (archive-beside), joined after. */
export const DUMP_PART_SUFFIX = '.dump-part.partial';
export const FILES_PART_SUFFIX = '.files-part.partial';
/** A one-byte file that tells whether the file system can join the parts in place (part-join). */
export const PROBE_SUFFIX = '.probe.partial';
/** Every file a backup being written may have beside it: removed with it. */
export const SIDE_FILE_SUFFIXES = [LATER_PART_SUFFIX, DUMP_PART_SUFFIX, FILES_PART_SUFFIX, PROBE_SUFFIX];
/** Reads and writes of whole files go in 1 MiB pieces: each piece is a hop through the hash and the disk. */
const FILE_CHUNK = 1024 * 1024;

/** Counts and hashes what flows through it. */
export class Digest extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly onBytes?: (total: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    noteStreamed(chunk.length);
    this.add(chunk);
    done(null, chunk);
  }
  /** Hashes bytes read elsewhere; the hash takes them at once, so the caller may reuse the Buffer. */
  add(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
  }
  hex(): string {
    return this.hash.digest('hex');
  }
}

/**
 * Writes a backup crash-safely: bytes go to `<path>.partial` while their sha256 is computed; commit
 * flushes the file to disk, renames it to its real name and syncs the folder. A crash before commit
 * leaves only a `.partial` file, which nothing ever takes for a backup.
 */
export class BackupFileWriter {
  readonly input: Digest;
  private readonly file: WriteStream;
  private readonly piping: Promise<void>;

  private constructor(
    readonly path: string,
    onBytes?: (total: number) => void,
  ) {
    this.input = new Digest(onBytes);
    // flush: fsync before close, so that the rename below never names a file still in the page cache.
    this.file = createWriteStream(path + PARTIAL_SUFFIX, { flags: 'wx', mode: 0o600, flush: true });
    this.piping = pipeline(this.input, this.file);
    // Errors surface in commit() or abort(); an unobserved rejection must not crash Marina meanwhile.
    this.piping.catch(() => undefined);
  }

  static async create(path: string, onBytes?: (total: number) => void): Promise<BackupFileWriter> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    for (const suffix of [PARTIAL_SUFFIX, ...SIDE_FILE_SUFFIXES]) await rm(path + suffix, { force: true });
    return new BackupFileWriter(path, onBytes);
  }

  private later: WriteStream | undefined;

  /**
   * A file beside the backup for bytes that belong after what is being written now: written at the
   * same time, then appended in order by appendLater(). Not hashed until it is appended.
   */
  laterPart(): WriteStream {
    this.later ??= createWriteStream(this.path + LATER_PART_SUFFIX, { flags: 'wx', mode: 0o600 });
    return this.later;
  }

  /** Appends what laterPart() received, through the hash, and removes it. */
  async appendLater(): Promise<void> {
    if (!this.later) return;
    await finished(this.later);
    const source = createReadStream(this.path + LATER_PART_SUFFIX, { highWaterMark: FILE_CHUNK });
    await pipeline(source, this.input, { end: false });
    await rm(this.path + LATER_PART_SUFFIX, { force: true });
    this.later = undefined;
  }

  private adopted: { sha256: string; sizeBytes: number } | undefined;

  /**
   * Takes a whole file written beside this one (by tools containers) as the backup's bytes, with
   * the sha256 and size the caller read from it; nothing may have been written to `input`.
   */
  async adopt(file: string, read: { sha256: string; sizeBytes: number }): Promise<void> {
    if (this.input.bytes > 0) throw new Error('a backup file that was written to cannot adopt another');
    this.input.end();
    await this.piping;
    await finished(this.file);
    await rename(file, this.path + PARTIAL_SUFFIX);
    this.adopted = read;
  }

  /** With `expectSha256`, a file whose bytes differ is removed instead of named: it never looks good. */
  async commit(expectSha256?: string): Promise<{ sha256: string; sizeBytes: number }> {
    if (!this.input.writableEnded) this.input.end();
    await this.piping;
    await finished(this.file);
    if (this.adopted) {
      // Written by other processes: flushed to disk here, as `flush` does for Marina's own writes.
      const adopted = await open(this.path + PARTIAL_SUFFIX, 'r');
      try {
        await adopted.sync();
      } finally {
        await adopted.close();
      }
    }
    const sha256 = this.adopted?.sha256 ?? this.input.hex();
    if (expectSha256 !== undefined && sha256 !== expectSha256) {
      await rm(this.path + PARTIAL_SUFFIX, { force: true });
      throw new Error(`the file's sha256 is ${sha256}, not the expected ${expectSha256}`);
    }
    await rename(this.path + PARTIAL_SUFFIX, this.path);
    const folder = await open(dirname(this.path), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
    return { sha256, sizeBytes: this.adopted?.sizeBytes ?? this.input.bytes };
  }

  async abort(): Promise<void> {
    this.input.destroy();
    this.file.destroy();
    this.later?.destroy();
    await this.piping.catch(() => undefined);
    for (const suffix of [PARTIAL_SUFFIX, ...SIDE_FILE_SUFFIXES]) await rm(this.path + suffix, { force: true });
  }
}

/** The sha256 of a file, read as a stream. */
export async function fileSha256(path: string, onBytes?: (total: number) => void): Promise<string> {
  const digest = new Digest(onBytes);
  digest.resume();
  await pipeline(createReadStream(path, { highWaterMark: FILE_CHUNK }), digest);
  return digest.hex();
}
