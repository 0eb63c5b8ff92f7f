/**
 * zstd decompression of a stream of concatenated frames. The format allows them (`zstd -d` and
 * `tar --zstd` read them as one stream, and Marina's native archives are written in parts), but
 * Node's decompressor stops at the end of the first frame and drops the rest. Here each frame's
 * end is found from its header and block headers, and each frame goes through a decompressor of
 * its own. Skippable frames are skipped.
 */
import { Duplex, type Readable } from 'node:stream';
import { createZstdDecompress, type ZstdDecompress } from 'node:zlib';

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_MASK = 0xfffffff0;
/** A skippable frame's header: its magic, then the length of what follows (little-endian). */
export const SKIPPABLE_HEADER_BYTES = 8;

/** A skippable frame of `bytes` in all, header included: zeros that every decoder passes over. */
export function skippableFrame(bytes: number): Buffer {
  if (bytes < SKIPPABLE_HEADER_BYTES)
    throw new RangeError(`a skippable frame takes at least ${SKIPPABLE_HEADER_BYTES} bytes`);
  const frame = Buffer.alloc(bytes);
  frame.writeUInt32LE(SKIPPABLE_MAGIC, 0);
  frame.writeUInt32LE(bytes - SKIPPABLE_HEADER_BYTES, 4);
  return frame;
}

export class ZstdFrameError extends Error {}

/** Bytes of an async source, taken exactly or as they come, without copying what it can avoid. */
class ByteReader {
  private held: Buffer = Buffer.alloc(0);
  private readonly chunks: AsyncIterator<Buffer>;
  private ended = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.chunks = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.held.length > 0) return true;
    while (!this.ended) {
      const next = await this.chunks.next();
      if (next.done) {
        this.ended = true;
        return false;
      }
      if (next.value.length > 0) {
        this.held = next.value;
        return true;
      }
    }
    return false;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  /** Exactly `n` bytes (a header field): an error if the stream ends first. */
  async exactly(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let wanted = n;
    while (wanted > 0) {
      if (!(await this.fill())) throw new ZstdFrameError('the zstd stream ends in the middle of a frame');
      const part = this.upTo(wanted);
      parts.push(part);
      wanted -= part.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }

  /** Up to `n` bytes of what is at hand (at least one, unless the stream ended). */
  async some(n: number): Promise<Buffer> {
    if (!(await this.fill())) throw new ZstdFrameError('the zstd stream ends in the middle of a frame');
    return this.upTo(n);
  }

  private upTo(n: number): Buffer {
    const part = this.held.subarray(0, n);
    this.held = this.held.subarray(part.length);
    return part;
  }
}

/** Sends one frame's bytes (header, blocks, checksum) to `into`, as they are read. */
async function forwardFrame(reader: ByteReader, magic: Buffer, into: ZstdDecompress): Promise<void> {
  const write = async (bytes: Buffer) => {
    if (!into.write(bytes)) await new Promise<void>((resolve) => into.once('drain', resolve));
  };
  const descriptorByte = await reader.exactly(1);
  const descriptor = descriptorByte[0] as number;
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const hasChecksum = (descriptor >> 2) & 1;
  const dictionaryFlag = descriptor & 3;
  const dictionaryBytes = dictionaryFlag === 3 ? 4 : dictionaryFlag;
  const sizeBytes = sizeFlag === 0 ? singleSegment : 2 ** sizeFlag;
  const headerRest = (singleSegment ? 0 : 1) + dictionaryBytes + sizeBytes;
  await write(Buffer.concat([magic, descriptorByte, await reader.exactly(headerRest)]));
  for (;;) {
    const header = await reader.exactly(3);
    await write(header);
    const value = header.readUIntLE(0, 3);
    const last = value & 1;
    const type = (value >> 1) & 3;
    if (type === 3) throw new ZstdFrameError('the zstd stream has a block of a reserved type');
    // An RLE block stores its one byte, however many it stands for.
    let remaining = type === 1 ? 1 : value >>> 3;
    while (remaining > 0) {
      const part = await reader.some(remaining);
      remaining -= part.length;
      await write(part);
    }
    if (last) break;
  }
  if (hasChecksum) await write(await reader.exactly(4));
}

/** A duplex: zstd frames in, their content out, with backpressure on both sides. */
export function zstdFramesDecompress(options: { chunkSize?: number } = {}): Duplex {
  return Duplex.from(async function* (source: AsyncIterable<Buffer>) {
    const reader = new ByteReader(source);
    let frames = 0;
    while (!(await reader.atEnd())) {
      const magic = await reader.exactly(4);
      const number = magic.readUInt32LE(0);
      if ((number & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
        let skip = (await reader.exactly(4)).readUInt32LE(0);
        while (skip > 0) skip -= (await reader.some(skip)).length;
        continue;
      }
      if (number !== FRAME_MAGIC)
        throw new ZstdFrameError(frames === 0 ? 'this is not zstd data' : 'the zstd stream has data after its frames');
      frames++;
      const decompress = createZstdDecompress({ chunkSize: options.chunkSize ?? 256 * 1024 });
      const feeding = forwardFrame(reader, magic, decompress).then(
        () => void decompress.end(),
        (error: Error) => {
          decompress.destroy(error);
          throw error;
        },
      );
      feeding.catch(() => undefined);
      for await (const chunk of decompress as unknown as Readable) yield chunk as Buffer;
      await feeding;
    }
  });
}
