import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { zstdCompressSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { zstdFramesDecompress } from '../../adapters/archive/zstd-frames.js';
import { appendAfter, blockOf, canInsertInFront, FlushBehind, padAfter, putInFront } from './part-join.js';

/**
 * Joining a native archive's head and filestore part (part-join): in place where the file system
 * opens room at a file's start, by a copy elsewhere; the same bytes either way, which decompress to
 * the head's content, then the part's.
 */
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function folderIn(parent: string): Promise<string> {
  const dir = await mkdtemp(join(parent, 'marina-join-'));
  dirs.push(dir);
  return dir;
}

/** A head and a part as the containers leave them: zstd frames of random (incompressible) bytes. */
async function parts(dir: string, headBytes: number) {
  const headPlain = randomBytes(headBytes);
  const partPlain = randomBytes(300_000);
  const head = join(dir, 'head');
  const part = join(dir, 'part');
  await writeFile(head, zstdCompressSync(headPlain));
  await writeFile(part, zstdCompressSync(partPlain));
  return { head, part, plain: Buffer.concat([headPlain, partPlain]) };
}

const decompressed = async (bytes: Buffer) => buffer(Readable.from([bytes]).pipe(zstdFramesDecompress()));

describe('the padding between the head and the filestore part', () => {
  it('fills the head up to a whole block with a skippable frame, or a block more when too short for one', () => {
    expect(padAfter(8192, 4096).length).toBe(0);
    expect(padAfter(4096 + 100, 4096).length).toBe(4096 - 100);
    expect(padAfter(4096 - 3, 4096).length).toBe(3 + 4096);
    expect(padAfter(4096 - 8, 4096).length).toBe(8);
    const pad = padAfter(10, 4096);
    expect(pad.readUInt32LE(0)).toBe(0x184d2a50);
    expect(pad.readUInt32LE(4)).toBe(pad.length - 8);
  });
});

describe('joining in place', () => {
  it('puts the head and its padding in front of the part, where the file system can', async () => {
    const dir = await folderIn(tmpdir());
    if (!(await canInsertInFront(join(dir, 'probe')))) return expect.fail(`${dir} cannot open room in a file`);
    const { head, part, plain } = await parts(dir, 50_000);
    const [headBytes, partBytes] = [await readFile(head), await readFile(part)];
    const pad = padAfter(headBytes.length, await blockOf(head));
    expect(await putInFront(head, pad, part)).toBe(true);
    const joined = await readFile(part);
    expect(joined.equals(Buffer.concat([headBytes, pad, partBytes]))).toBe(true);
    expect((await decompressed(joined)).equals(plain)).toBe(true);
    expect(existsSync(join(dir, 'probe'))).toBe(false);
  });

  it('appends the padding and the part to the head elsewhere, the same bytes', async () => {
    const dir = await folderIn(tmpdir());
    const { head, part, plain } = await parts(dir, 70_001);
    const [headBytes, partBytes] = [await readFile(head), await readFile(part)];
    const pad = padAfter(headBytes.length, 4096);
    await appendAfter(head, pad, part);
    const joined = await readFile(head);
    expect(joined.equals(Buffer.concat([headBytes, pad, partBytes]))).toBe(true);
    expect((await decompressed(joined)).equals(plain)).toBe(true);
  });

  it('says no and changes nothing where the file system cannot open room (tmpfs)', async (context) => {
    if (!existsSync('/dev/shm')) return context.skip();
    const dir = await folderIn('/dev/shm');
    expect(await canInsertInFront(join(dir, 'probe'))).toBe(false);
    expect(existsSync(join(dir, 'probe'))).toBe(false);
    const { head, part } = await parts(dir, 1000);
    const before = await readFile(part);
    const headBytes = (await readFile(head)).length;
    expect(await putInFront(head, padAfter(headBytes, await blockOf(head)), part)).toBe(false);
    expect((await readFile(part)).equals(before)).toBe(true);
  });

  it('flushes a file behind its writer, and closes after the flush in flight', async () => {
    const dir = await folderIn(tmpdir());
    const path = join(dir, 'written');
    await writeFile(path, randomBytes(1024 * 1024));
    const flush = new FlushBehind(path);
    flush.tick();
    flush.tick();
    await flush.close();
    await flush.close();
    await new FlushBehind(join(dir, 'missing')).close();
    const missing = new FlushBehind(join(dir, 'missing'));
    missing.tick();
    await missing.close();
  });
});
