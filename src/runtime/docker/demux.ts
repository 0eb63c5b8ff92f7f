import { Transform, type TransformCallback } from 'node:stream';

/**
 * Splits Docker's multiplexed attach stream (8-byte frame header: stream type, size) into stdout,
 * passed on with backpressure, and stderr, handed to a callback. dockerode's own demuxStream writes
 * without waiting, which would buffer a whole dump in memory when the disk is slower than pg_dump.
 */
export class StdoutDemux extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private frameType = 0;
  private frameLeft = 0;

  constructor(private readonly onStderr: (chunk: Buffer) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let data: Buffer = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.frameLeft === 0) {
        if (data.length < 8) {
          this.pending = data;
          break;
        }
        this.frameType = data[0] ?? 0;
        this.frameLeft = data.readUInt32BE(4);
        data = data.subarray(8);
        continue;
      }
      const take = Math.min(this.frameLeft, data.length);
      const payload = data.subarray(0, take);
      if (this.frameType === 2) this.onStderr(payload);
      else this.push(payload);
      this.frameLeft -= take;
      data = data.subarray(take);
    }
    done();
  }
}
