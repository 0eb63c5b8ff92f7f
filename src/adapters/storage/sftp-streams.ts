import { Readable, Writable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';

/**
 * ssh2's own file streams wait for each request's answer before sending the next, so throughput is
 * one 64 KiB block per round trip (about 2 MB/s at 30 ms). These keep many requests in flight, the
 * way OpenSSH's sftp client does (32 KiB × 64), while still bounding memory and honouring
 * backpressure on both sides.
 */
const PIECE_BYTES = 32 * 1024;
const MAX_IN_FLIGHT = 64;

/**
 * Writes to an open handle at increasing offsets. The handle is closed by `_final` (so a finished
 * stream means the server has every byte) or, on failure, by `_destroy`.
 */
export class SftpWriter extends Writable {
  /** Bytes the server acknowledged. */
  bytes = 0;
  private position = 0;
  private inFlight = 0;
  private failure: Error | null = null;
  private waiting: ((error?: Error | null) => void) | null = null;
  private finishing: ((error?: Error | null) => void) | null = null;
  private handleOpen = true;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Buffer,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    super({ highWaterMark: PIECE_BYTES * 4 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failure) {
      callback(this.failure);
      return;
    }
    for (let offset = 0; offset < chunk.length; offset += PIECE_BYTES) {
      const length = Math.min(PIECE_BYTES, chunk.length - offset);
      const position = this.position;
      this.position += length;
      this.inFlight++;
      this.sftp.write(this.handle, chunk, offset, length, position, (error) => this.settled(length, error));
    }
    if (this.inFlight < MAX_IN_FLIGHT) callback();
    else this.waiting = callback;
  }

  private settled(length: number, error: Error | null | undefined): void {
    this.inFlight--;
    if (error) this.failure ??= error;
    else {
      this.bytes += length;
      this.onProgress?.(this.bytes);
    }
    if (this.waiting && (this.failure || this.inFlight < MAX_IN_FLIGHT)) {
      const callback = this.waiting;
      this.waiting = null;
      callback(this.failure);
    }
    if (this.finishing && this.inFlight === 0) this.closeHandle();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finishing = callback;
    if (this.inFlight === 0) this.closeHandle();
  }

  private closeHandle(): void {
    const callback = this.finishing;
    this.finishing = null;
    if (!callback) return;
    if (this.failure) {
      callback(this.failure);
      return;
    }
    this.handleOpen = false;
    this.sftp.close(this.handle, (error) => callback(error ?? null));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.handleOpen) {
      this.handleOpen = false;
      try {
        this.sftp.close(this.handle, () => undefined);
      } catch {
        // The channel is gone, and the handle with it.
      }
    }
    callback(error);
  }
}

interface Slot {
  position: number;
  buffer: Buffer;
  filled: number;
  done: boolean;
}

/** Reads an open handle from the start to end of file, in order, with reads kept in flight. */
export class SftpReader extends Readable {
  private slots: Slot[] = [];
  private nextPosition = 0;
  private eof = false;
  private wanting = false;
  private handleOpen = true;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Buffer,
  ) {
    super({ highWaterMark: PIECE_BYTES * 8 });
  }

  override _read(): void {
    this.wanting = true;
    this.deliver();
    this.fill();
  }

  private fill(): void {
    while (this.wanting && !this.eof && this.slots.length < MAX_IN_FLIGHT && !this.destroyed) {
      const slot: Slot = {
        position: this.nextPosition,
        buffer: Buffer.allocUnsafe(PIECE_BYTES),
        filled: 0,
        done: false,
      };
      this.nextPosition += PIECE_BYTES;
      this.slots.push(slot);
      this.request(slot);
    }
  }

  private request(slot: Slot): void {
    try {
      this.sftp.read(
        this.handle,
        slot.buffer,
        slot.filled,
        slot.buffer.length - slot.filled,
        slot.position + slot.filled,
        (error, bytesRead) => {
          if (this.destroyed) return;
          if (error) return void this.destroy(error);
          // ssh2 reports end of file as zero bytes read.
          if (bytesRead === 0) {
            this.eof = true;
            slot.done = true;
          } else {
            slot.filled += bytesRead;
            // A short read is allowed by the protocol anywhere: ask for the rest of the slot.
            if (slot.filled < slot.buffer.length) return this.request(slot);
            slot.done = true;
          }
          this.deliver();
          this.fill();
        },
      );
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  private deliver(): void {
    while (this.slots[0]?.done) {
      const slot = this.slots.shift() as Slot;
      if (slot.filled > 0 && !this.push(slot.buffer.subarray(0, slot.filled))) this.wanting = false;
      if (slot.filled < slot.buffer.length) {
        // End of file: later slots can only be empty, so the stream ends here.
        this.slots = [];
        this.closeHandle();
        this.push(null);
        return;
      }
    }
  }

  private closeHandle(): void {
    if (!this.handleOpen) return;
    this.handleOpen = false;
    try {
      this.sftp.close(this.handle, () => undefined);
    } catch {
      // The channel is gone, and the handle with it.
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeHandle();
    callback(error);
  }
}
