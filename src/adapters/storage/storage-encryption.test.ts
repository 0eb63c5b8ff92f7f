import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { decryptStream, encryptedSize, encryptStream } from './encryption.js';
import { collect, DAMAGED, MiB, PASSPHRASE } from './storage-test-support.js';

describe('encryption', () => {
  async function encrypt(plain: Buffer, passphrase = PASSPHRASE): Promise<Buffer> {
    // Odd piece sizes so chunk boundaries never line up with writes.
    const pieces: Buffer[] = [];
    for (let at = 0; at < plain.length; at += 77_777) pieces.push(plain.subarray(at, at + 77_777));
    return collect(Readable.from(pieces).pipe(encryptStream(passphrase)));
  }

  async function decrypt(sealed: Buffer, passphrase = PASSPHRASE): Promise<Buffer> {
    const parts: Buffer[] = [];
    await pipeline(
      Readable.from([sealed.subarray(0, 1000), sealed.subarray(1000)].filter((b) => b.length > 0)),
      decryptStream(passphrase),
      async (source: AsyncIterable<Buffer>) => {
        for await (const part of source) parts.push(part);
      },
    );
    return Buffer.concat(parts);
  }

  it.each([0, 1, MiB, 2 * MiB + 5, 3.5 * MiB])(
    'round-trips %i bytes, with the size encryptedSize predicts',
    async (size) => {
      const plain = randomBytes(size);
      const sealed = await encrypt(plain);
      expect(sealed.subarray(0, 8).toString('ascii')).toBe('MARINAE1');
      expect(sealed.length).toBe(encryptedSize(size));
      if (size >= 4096) expect(sealed.includes(plain.subarray(0, 4096))).toBe(false);
      expect((await decrypt(sealed)).equals(plain)).toBe(true);
    },
  );

  it('uses a fresh salt and nonce for every file', async () => {
    const plain = Buffer.from('the same backup twice');
    const [a, b] = await Promise.all([encrypt(plain), encrypt(plain)]);
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(8, 31).equals(b.subarray(8, 31))).toBe(false);
  });

  it('refuses a wrong passphrase', async () => {
    const sealed = await encrypt(randomBytes(1000));
    await expect(decrypt(sealed, 'not the passphrase')).rejects.toThrow(DAMAGED);
  });

  describe('refuses damaged data', () => {
    let plain: Buffer;
    let sealed: Buffer;
    const sealedChunk = MiB + 16;
    beforeAll(async () => {
      plain = randomBytes(3.5 * MiB);
      sealed = await encrypt(plain);
    });

    it('without its last chunk', async () => {
      await expect(decrypt(sealed.subarray(0, 31 + 3 * sealedChunk))).rejects.toThrow(DAMAGED);
    });

    it('truncated inside the last chunk', async () => {
      await expect(decrypt(sealed.subarray(0, sealed.length - 1))).rejects.toThrow(DAMAGED);
      await expect(decrypt(sealed.subarray(0, sealed.length - 1000))).rejects.toThrow(DAMAGED);
    });

    it('cut to the header', async () => {
      await expect(decrypt(sealed.subarray(0, 31))).rejects.toThrow(DAMAGED);
      await expect(decrypt(sealed.subarray(0, 20))).rejects.toThrow(DAMAGED);
    });

    it('with one byte flipped, in a chunk or in the header', async () => {
      for (const at of [31 + 5, 31 + sealedChunk + 12_345, sealed.length - 3, 10]) {
        const damaged = Buffer.from(sealed);
        damaged[at] = (damaged[at] as number) ^ 0x01;
        await expect(decrypt(damaged)).rejects.toThrow(DAMAGED);
      }
    });

    it('with chunks swapped, or bytes appended', async () => {
      const swapped = Buffer.concat([
        sealed.subarray(0, 31),
        sealed.subarray(31 + sealedChunk, 31 + 2 * sealedChunk),
        sealed.subarray(31, 31 + sealedChunk),
        sealed.subarray(31 + 2 * sealedChunk),
      ]);
      await expect(decrypt(swapped)).rejects.toThrow(DAMAGED);
      await expect(decrypt(Buffer.concat([sealed, randomBytes(40)]))).rejects.toThrow(DAMAGED);
    });

    it('that is not an encrypted copy at all', async () => {
      await expect(decrypt(Buffer.concat([Buffer.from('MARINAE2'), sealed.subarray(8)]))).rejects.toThrow(
        /cannot be decrypted/,
      );
    });

    it('when the empty final chunk of a whole number of MiB is dropped', async () => {
      const whole = await encrypt(randomBytes(MiB));
      await expect(decrypt(whole.subarray(0, whole.length - 16))).rejects.toThrow(DAMAGED);
    });
  });
});
