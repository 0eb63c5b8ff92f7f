import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { MarinaError } from '../../platform/errors.js';

export interface Mismatch {
  sha256: string;
  bytes: number;
}

/**
 * Passes bytes through while hashing them, and ends only if they are the expected ones. The last
 * chunk is held back until the hash is known: on a mismatch the stream fails *before* the receiver
 * has every byte, so an HTTP client sees a cut download (fewer bytes than Content-Length), never a
 * complete-looking file with the wrong content.
 */
export class VerifiedStream extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private held: Buffer | null = null;

  constructor(
    private readonly expected: { sha256: string; bytes: number },
    private readonly onMismatch: (found: Mismatch) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const previous = this.held;
    this.held = chunk;
    done(null, previous ?? undefined);
  }

  override _flush(done: TransformCallback): void {
    const sha256 = this.hash.digest('hex');
    if (sha256 !== this.expected.sha256 || this.bytes !== this.expected.bytes) {
      this.onMismatch({ sha256, bytes: this.bytes });
      done(
        new MarinaError(
          'MARINA_E_BACKUP_UNAVAILABLE',
          `The offsite copy does not match the backup's checksum (${this.bytes} bytes, sha256 ${sha256}); the download was stopped.`,
        ),
      );
      return;
    }
    done(null, this.held ?? undefined);
  }
}
