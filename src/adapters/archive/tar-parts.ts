/**
 * A tar archive written in parts, each compressed as its own zstd frame. Concatenated zstd frames
 * decompress as one stream, and tar parts whose end-of-archive blocks are left off (all but the
 * last) read as one archive: so the parts can be written at different times and joined in order,
 * and the result is the same `tar.zst` a single stream would have made.
 */
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createZstdCompress, constants as zlibConstants } from 'node:zlib';
import { streamedBytesCounter } from '../stream-garbage.js';
import { type RenameOptions, renameTarEntries } from './tar-rename.js';

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

/**
 * A part made from a tar stream as it comes (Docker's archive of a folder), its entries renamed on
 * the way (`renameTarEntries`), compressed as one frame: no entry is unpacked and packed again.
 * No stream (a folder that does not exist) gives a part with the prelude alone.
 */
export async function writeRenamedPart(
  tar: Readable | undefined,
  destination: Writable,
  options: RenameOptions & { endDestination: boolean; level?: number },
): Promise<void> {
  const zstd = createZstdCompress({
    chunkSize: COMPRESS_PIECE,
    params: { [zlibConstants.ZSTD_c_compressionLevel]: options.level ?? 1 },
  });
  await pipeline(
    tar ?? Readable.from([]),
    streamedBytesCounter(),
    renameTarEntries(options),
    piecesOf(COMPRESS_PIECE),
    zstd,
    destination,
    { end: options.endDestination },
  );
}
