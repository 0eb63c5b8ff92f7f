/**
 * Offsite copies: streaming encryption throughput, and an S3 multipart upload (to the s3rver
 * stand-in on loopback) with Marina's peak memory — it must not grow with the backup.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { outboundGuard } from '../src/adapters/net/outbound.js';
import { decryptStream, encryptStream } from '../src/adapters/storage/encryption.js';
import { openStore } from '../src/adapters/storage/index.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { report, timed } from './report.js';

const MB = 1024 * 1024;
const SIZE = 512 * MB;
const mib = (n: number) => `${(n / MB).toFixed(0)} MiB`;

/** Half-compressible bytes, like a zstd archive's neighbourhood: generated, not held in memory. */
function source(size: number): Readable {
  let left = size;
  const block = Buffer.alloc(MB);
  return new Readable({
    read() {
      if (left <= 0) return this.push(null);
      for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
      const n = Math.min(left, block.length);
      left -= n;
      this.push(Buffer.from(block.subarray(0, n)));
    },
  });
}

const discard = () =>
  new Writable({
    write(_chunk, _e, done) {
      done();
    },
  });

export async function offsiteBench(): Promise<void> {
  console.log('\n# offsite copies');
  const dir = await mkdtemp(join(tmpdir(), 'marina-bench-offsite-'));
  try {
    const file = join(dir, 'backup.bin');
    await pipeline(source(SIZE), createWriteStream(file));
    const [, encMs] = await timed(() =>
      pipeline(createReadStream(file), encryptStream('bench passphrase 0123456789'), createWriteStream(`${file}.enc`)),
    );
    report('encrypt 512 MiB (AES-256-GCM, 1 MiB chunks)', `${(SIZE / MB / (encMs / 1000)).toFixed(0)} MiB/s`);
    const [, decMs] = await timed(() =>
      pipeline(createReadStream(`${file}.enc`), decryptStream('bench passphrase 0123456789'), discard()),
    );
    report('decrypt 512 MiB', `${(SIZE / MB / (decMs / 1000)).toFixed(0)} MiB/s`);

    const s3 = await startS3Server();
    try {
      const store = await openStore(
        {
          kind: 's3',
          settings: {
            endpoint: s3.endpoint,
            region: s3.region,
            bucket: s3.bucket,
            prefix: 'bench',
            forcePathStyle: true,
            accessKeyId: s3.accessKeyId,
          },
          secrets: { secretAccessKey: s3.secretAccessKey },
        },
        outboundGuard(async () => ({ allowedRanges: ['127.0.0.0/8'], protectedPorts: [] })),
      );
      global.gc?.();
      const before = process.memoryUsage.rss();
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage.rss());
      }, 20);
      const [, upMs] = await timed(() => store.put('backup.bin', createReadStream(file)));
      clearInterval(sampler);
      await store.close();
      report(
        'S3 multipart upload 512 MiB (s3rver, loopback)',
        `${(SIZE / MB / (upMs / 1000)).toFixed(0)} MiB/s; rss peak ${mib(peak)} (+${mib(peak - before)}, s3rver in-process)`,
      );
    } finally {
      await s3.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
