/**
 * A tar archive written in parts, each compressed as its own zstd frame. Concatenated zstd frames
 * decompress as one stream, and tar parts whose end-of-archive blocks are left off (all but the
 * last) read as one archive: so the parts can be written at different times and joined in order,
 * and the result is the same `tar.zst` a single stream would have made.
 */
import type { Readable, Writable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createZstdCompress, constants as zlibConstants } from 'node:zlib';
import tarStream from 'tar-stream';

/** What tar ends an archive with: two zero blocks. */
const END_OF_ARCHIVE = 1024;
/**
 * zstd is fed 1 MiB pieces: each write to it is a round trip to the thread pool, and the socket
 * delivers 64 KiB at a time (joining them costs a copy; the round trips cost three times more).
 */
export const COMPRESS_PIECE = 1024 * 1024;

/** Joins small chunks into pieces of about `size` bytes. */
export function piecesOf(size: number): Transform {
  let held: Buffer[] = [];
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      held.push(chunk);
      bytes += chunk.length;
      if (bytes < size) return done();
      const piece = held.length === 1 ? chunk : Buffer.concat(held, bytes);
      held = [];
      bytes = 0;
      done(null, piece);
    },
    flush(done: TransformCallback) {
      done(null, bytes > 0 ? Buffer.concat(held, bytes) : undefined);
    },
  });
}

/** Drops the end-of-archive blocks of a tar stream (checked to be zeros), so that another part can follow. */
export function withoutEndOfArchive(): Transform {
  let tail = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      // The common case copies only the 1 KiB held back, not the chunk.
      if (chunk.length >= END_OF_ARCHIVE) {
        if (tail.length > 0) this.push(tail);
        const cut = chunk.length - END_OF_ARCHIVE;
        tail = Buffer.from(chunk.subarray(cut));
        return done(null, cut > 0 ? chunk.subarray(0, cut) : undefined);
      }
      const all = Buffer.concat([tail, chunk]);
      const cut = Math.max(0, all.length - END_OF_ARCHIVE);
      tail = Buffer.from(all.subarray(cut));
      done(null, cut > 0 ? all.subarray(0, cut) : undefined);
    },
    flush(done: TransformCallback) {
      if (tail.length !== END_OF_ARCHIVE || tail.some((byte) => byte !== 0))
        return done(new Error('the tar part does not end with its end-of-archive blocks'));
      done();
    },
  });
}

export interface PartEntry {
  name: string;
  size?: number;
  mode?: number;
  mtime?: Date;
}

/** One part: entries added one at a time, streamed through zstd into `destination`. */
export class CompressedTarPart {
  private readonly pack = tarStream.pack();
  private readonly flowing: Promise<void>;

  /**
   * `last`: the part that ends the archive (keeps tar's end blocks). `endDestination`: whether
   * closing the part ends `destination` (a file of its own) or leaves it open for the next part.
   */
  constructor(destination: Writable, options: { last: boolean; endDestination: boolean; level?: number }) {
    const level = options.level ?? 1;
    const zstd = createZstdCompress({
      chunkSize: COMPRESS_PIECE,
      params: { [zlibConstants.ZSTD_c_compressionLevel]: level },
    });
    const stages: unknown[] = [this.pack];
    if (!options.last) stages.push(withoutEndOfArchive());
    stages.push(piecesOf(COMPRESS_PIECE), zstd);
    this.flowing = (pipeline as (...args: unknown[]) => Promise<void>)(...stages, destination, {
      end: options.endDestination,
    });
    // Errors surface in close(); an unobserved rejection must not crash Marina meanwhile.
    this.flowing.catch(() => undefined);
  }

  add(entry: PartEntry, content: Readable | Buffer): Promise<void> {
    const header = { type: 'file', uid: 0, gid: 0, mode: 0o600, ...entry } as tarStream.Header;
    if (Buffer.isBuffer(content))
      return new Promise<void>((resolve, reject) =>
        this.pack.entry(header, content, (error) => (error ? reject(error) : resolve())),
      );
    return pipeline(content, this.pack.entry(header));
  }

  async close(): Promise<void> {
    this.pack.finalize();
    await this.flowing;
  }

  destroy(error: Error): void {
    this.pack.destroy(error);
  }
}
