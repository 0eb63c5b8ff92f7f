/**
 * Streaming encryption of offsite copies, so a bucket or a storage box only ever holds ciphertext.
 *
 * Format (all integers big-endian):
 *
 *   header  = "MARINAE1" (8 bytes) ‖ salt (16 random bytes) ‖ nonce prefix (7 random bytes)
 *   key     = scrypt(passphrase, salt, 32 bytes, N = 2^15, r = 8, p = 1)
 *   chunk i = AES-256-GCM(key, nonce_i, plaintext_i) ‖ tag (16 bytes)
 *   nonce_i = nonce prefix (7) ‖ uint32 i ‖ final flag (1 byte: 1 on the last chunk, else 0)
 *
 * Plaintext is cut into 1 MiB chunks; every chunk but the last is exactly 1 MiB, the last holds
 * 0 … 1 MiB bytes (this encoder writes an empty final chunk when the length is a multiple of 1 MiB,
 * including zero; the decoder also accepts a full final chunk). This is the STREAM construction
 * (Hoang, Reyhanitabar, Rogaway, Vizár 2015): because the counter and the final flag are part of
 * every nonce, reordered, dropped, truncated or appended chunks all fail authentication, not just
 * bit flips. A fresh salt per file gives a fresh key, so nonces never repeat under one key.
 *
 * Memory stays bounded: neither side holds more than about two chunks.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export const MAGIC = Buffer.from('MARINAE1', 'ascii');
const SALT_BYTES = 16;
const PREFIX_BYTES = 7;
export const HEADER_BYTES = MAGIC.length + SALT_BYTES + PREFIX_BYTES;
export const CHUNK_BYTES = 1024 * 1024;
const TAG_BYTES = 16;
const SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES;
const MAX_CHUNKS = 2 ** 32;

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

const DAMAGED = 'the encrypted copy cannot be decrypted: wrong passphrase or damaged data';

/** The size of the encrypted form of `plainSize` bytes. */
export function encryptedSize(plainSize: number): number {
  const chunks = Math.floor(plainSize / CHUNK_BYTES) + 1;
  return HEADER_BYTES + plainSize + chunks * TAG_BYTES;
}

function deriveKey(passphrase: string, salt: Buffer): Promise<Buffer> {
  if (passphrase.length === 0) return Promise.reject(new Error('the encryption passphrase is empty'));
  return new Promise((resolve, reject) =>
    scrypt(passphrase, salt, 32, SCRYPT, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

function nonceOf(prefix: Buffer, counter: number, final: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(counter, PREFIX_BYTES);
  nonce[11] = final ? 1 : 0;
  return nonce;
}

/** Incoming bytes kept as a list, joined only when a whole chunk is taken out. */
class Pending {
  private parts: Buffer[] = [];
  length = 0;

  add(data: Buffer): void {
    if (data.length === 0) return;
    this.parts.push(data);
    this.length += data.length;
  }

  take(bytes: number): Buffer {
    const all = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.length);
    const head = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.parts = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return head;
  }
}

class ChunkCounter {
  private next = 0;

  take(): number {
    if (this.next >= MAX_CHUNKS) throw new Error('the stream is too long to encrypt in one file');
    return this.next++;
  }
}

/** Plaintext in, `MARINAE1` ciphertext out. */
export function encryptStream(passphrase: string): Transform {
  const salt = randomBytes(SALT_BYTES);
  const prefix = randomBytes(PREFIX_BYTES);
  const pending = new Pending();
  const counter = new ChunkCounter();
  let key: Buffer;
  let headerSent = false;

  const seal = (stream: Transform, plain: Buffer, final: boolean): void => {
    if (!headerSent) {
      stream.push(Buffer.concat([MAGIC, salt, prefix]));
      headerSent = true;
    }
    const cipher = createCipheriv('aes-256-gcm', key, nonceOf(prefix, counter.take(), final));
    const body = cipher.update(plain);
    cipher.final();
    stream.push(Buffer.concat([body, cipher.getAuthTag()]));
  };

  return new Transform({
    construct(callback) {
      deriveKey(passphrase, salt).then((derived) => {
        key = derived;
        callback();
      }, callback);
    },
    transform(data: Buffer, _encoding, callback: TransformCallback) {
      try {
        pending.add(data);
        // A full chunk is only sealed as not-final; the final flag goes on whatever remains at the end.
        while (pending.length >= CHUNK_BYTES) seal(this, pending.take(CHUNK_BYTES), false);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        seal(this, pending.take(pending.length), true);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/** `MARINAE1` ciphertext in, plaintext out; fails on a wrong passphrase or any change to the data. */
export function decryptStream(passphrase: string): Transform {
  const pending = new Pending();
  const counter = new ChunkCounter();
  let key: Buffer | null = null;
  let prefix: Buffer;
  let chunksSeen = 0;

  const open = (stream: Transform, sealed: Buffer, final: boolean): void => {
    if (sealed.length < TAG_BYTES || key === null) throw new Error(DAMAGED);
    const decipher = createDecipheriv('aes-256-gcm', key, nonceOf(prefix, counter.take(), final));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    try {
      decipher.final();
    } catch (error) {
      throw new Error(DAMAGED, { cause: error });
    }
    chunksSeen++;
    if (plain.length > 0) stream.push(plain);
  };

  // Whole sealed chunks are opened as not-final only once more bytes follow them: a chunk is the
  // last one exactly when the input ends right after it.
  const drain = (stream: Transform): void => {
    while (pending.length > SEALED_CHUNK_BYTES) open(stream, pending.take(SEALED_CHUNK_BYTES), false);
  };

  return new Transform({
    transform(data: Buffer, _encoding, callback: TransformCallback) {
      pending.add(data);
      if (key !== null) {
        try {
          drain(this);
          callback();
        } catch (error) {
          callback(error as Error);
        }
        return;
      }
      if (pending.length < HEADER_BYTES) return callback();
      const header = pending.take(HEADER_BYTES);
      if (!header.subarray(0, MAGIC.length).equals(MAGIC))
        return callback(new Error(`${DAMAGED} (it does not start with ${MAGIC.toString('ascii')})`));
      prefix = Buffer.from(header.subarray(MAGIC.length + SALT_BYTES));
      deriveKey(passphrase, Buffer.from(header.subarray(MAGIC.length, MAGIC.length + SALT_BYTES))).then((derived) => {
        key = derived;
        try {
          drain(this);
          callback();
        } catch (error) {
          callback(error as Error);
        }
      }, callback);
    },
    flush(callback: TransformCallback) {
      try {
        // No header, or a stream that stops right after a non-final chunk, is a truncated copy.
        if (key === null || (pending.length === 0 && chunksSeen > 0)) throw new Error(DAMAGED);
        open(this, pending.take(pending.length), true);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
