import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { sftpServerUnavailable } from '../../../test/helpers/sftp-server.js';
import { outboundGuard } from '../net/outbound.js';
import { StorageError } from './types.js';

/**
 * Shared by the storage-*.test.ts files, which test the remote storage layer against real servers: s3rver behind the real AWS SDK, Debian's sshd
 * behind ssh2. No mocks: errors come from the servers (or the network) as they would in production.
 */
export const MiB = 1024 * 1024;
export const PASSPHRASE = 'correct horse battery staple 93b1';
/** The test servers listen on loopback, which only an allow-listed range lets through. */
export const loopback = outboundGuard(async () => ({ allowedRanges: ['127.0.0.0/8'], protectedPorts: [] }));
export const DAMAGED = 'the encrypted copy cannot be decrypted: wrong passphrase or damaged data';

export const sftpSkipped = sftpServerUnavailable();

/** Random bytes of a given size (Infinity: until destroyed), optionally trickled, with their sha256. */
export function randomSource(size: number, options: { delayMs?: number } = {}) {
  const hash = createHash('sha256');
  let left = size;
  const stream = new Readable({
    highWaterMark: 256 * 1024,
    read() {
      if (left <= 0) return void this.push(null);
      const piece = randomBytes(Math.min(128 * 1024, left));
      left -= piece.length;
      hash.update(piece);
      if (options.delayMs) setTimeout(() => this.push(piece), options.delayMs);
      else this.push(piece);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

export async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of stream) hash.update(piece as Buffer);
  return hash.digest('hex');
}

export async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of stream) parts.push(piece as Buffer);
  return Buffer.concat(parts);
}

/** A port nothing listens on: taken from the kernel and given back. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function failureOf(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}
