import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, zstdCompressSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { writeRenamedPart } from './tar-parts.js';
import { fileEntry } from './tar-rename.js';
import { zstdFramesDecompress } from './zstd-frames.js';

/** Feeds `input` in pieces of `piece` bytes and collects what comes out. */
async function decompress(input: Buffer, piece = input.length): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < input.length; at += piece) pieces.push(input.subarray(at, at + piece));
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    zstdFramesDecompress({ chunkSize: 4096 }),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(out);
}

const skippable = (content: Buffer) => {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0x184d2a53, 0);
  header.writeUInt32LE(content.length, 4);
  return Buffer.concat([header, content]);
};

describe('zstd frames', () => {
  // Frames of each kind: content size known or not, checksum or not, RLE, raw and compressed
  // blocks, several blocks (random data over 128 KiB), an empty frame, a skippable frame.
  const text = Buffer.from('an Odoo partner, '.repeat(20_000));
  const noise = randomBytes(700_000);
  const zeros = Buffer.alloc(300_000);
  const parts = [
    { plain: text, frame: zstdCompressSync(text) },
    { plain: noise, frame: zstdCompressSync(noise, { params: { [constants.ZSTD_c_checksumFlag]: 1 } }) },
    { plain: zeros, frame: zstdCompressSync(zeros, { params: { [constants.ZSTD_c_contentSizeFlag]: 0 } }) },
    { plain: Buffer.alloc(0), frame: zstdCompressSync(Buffer.alloc(0)) },
    { plain: Buffer.alloc(0), frame: skippable(Buffer.from('metadata')) },
    { plain: text.subarray(0, 99), frame: zstdCompressSync(text.subarray(0, 99)) },
  ];
  const all = Buffer.concat(parts.map((p) => p.frame));
  const plain = Buffer.concat(parts.map((p) => p.plain));

  it('reads every frame, however the bytes are cut', async () => {
    expect((await decompress(all)).equals(plain)).toBe(true);
    expect((await decompress(all, 1013)).equals(plain)).toBe(true);
    // Byte by byte, over frames small enough for it.
    const small = [parts[0], parts[4], parts[5]].map((p) => p?.frame ?? Buffer.alloc(0));
    const expected = Buffer.concat([text, text.subarray(0, 99)]);
    expect((await decompress(Buffer.concat(small), 1)).equals(expected)).toBe(true);
    expect((await decompress(all, 65_536)).equals(plain)).toBe(true);
  });

  it('agrees with the zstd tool', async () => {
    const tool = spawnSync('zstd', ['-d', '-c'], { input: all, maxBuffer: 64 * 1024 * 1024 });
    if (tool.error) return; // no zstd tool on this machine: the comparison above stands
    expect(tool.stdout.equals(plain)).toBe(true);
  });

  it('refuses a cut stream, data after the frames and what is not zstd', async () => {
    await expect(decompress(all.subarray(0, all.length - 10))).rejects.toThrow();
    await expect(decompress(Buffer.concat([all, Buffer.from('junk')]))).rejects.toThrow(/data after its frames/);
    await expect(decompress(Buffer.from('plain text, not zstd'))).rejects.toThrow(/not zstd/);
  });

  it('joins tar parts written apart into one archive', async () => {
    const first = new PassThrough();
    const second = new PassThrough();
    const collect = (stream: PassThrough) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      return () => Buffer.concat(chunks);
    };
    const [a, b] = [collect(first), collect(second)];
    // Folders as Docker's archive API sends them, named after the folder.
    const folder = (name: string, files: [string, Buffer][]) =>
      new Promise<Buffer>((resolve, reject) => {
        const pack = tarStream.pack();
        const chunks: Buffer[] = [];
        pack.on('data', (c) => chunks.push(c as Buffer));
        pack.on('end', () => resolve(Buffer.concat(chunks)));
        pack.on('error', reject);
        pack.entry({ name: `${name}/`, type: 'directory' });
        for (const [file, content] of files) pack.entry({ name: `${name}/${file}` }, content);
        pack.finalize();
      });
    const rename = (into: string) => (name: string) => {
      const relative = name.split('/').slice(1).join('/');
      return relative === '' ? undefined : `${into}${relative}`;
    };
    // The second part is written first, as the filestore is while pg_dump runs.
    await writeRenamedPart(Readable.from([await folder('db1', [['ab/abcdef', noise]])]), second, {
      rename: rename('filestore/'),
      last: true,
      endDestination: true,
    });
    await writeRenamedPart(Readable.from([await folder('dump', [['toc.dat', text]])]), first, {
      rename: rename('dump/'),
      prelude: fileEntry('manifest.json', Buffer.from('{}')),
      last: false,
      endDestination: true,
    });

    const names: string[] = [];
    const sizes: number[] = [];
    const extract = tarStream.extract();
    extract.on('entry', (header, stream, next) => {
      names.push(header.name);
      let size = 0;
      stream.on('data', (c) => {
        size += (c as Buffer).length;
      });
      stream.on('end', () => {
        sizes.push(size);
        next();
      });
    });
    await pipeline(Readable.from([a(), b()]), zstdFramesDecompress(), extract);
    expect(names).toEqual(['manifest.json', 'dump/toc.dat', 'filestore/ab/abcdef']);
    expect(sizes).toEqual([2, text.length, noise.length]);
    // The first part alone is a tar without its end: it does not pass for a whole archive's end.
    const tail = (await decompress(a())).subarray(-1024);
    expect(tail.equals(Buffer.alloc(1024))).toBe(false);
  });
});
