import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Digest } from '../../adapters/archive/backup-file.js';
import { dumpTimes, hashWhileWritten, wholeLines } from './archive-beside.js';

/**
 * Following the tools containers (archive-beside). A part is hashed while its container appends to
 * it: the sha256 must be of every byte, in order, whatever pieces the writer made and however long
 * it paused between them. What a container says of itself comes in pieces that cut lines anywhere.
 */
describe('hashing a part while it is written', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const fileIn = async (first: Buffer) => {
    const dir = await mkdtemp(join(tmpdir(), 'marina-hash-'));
    dirs.push(dir);
    const path = join(dir, 'part');
    await writeFile(path, first);
    return path;
  };
  const sha256 = (buffers: Buffer[]) => createHash('sha256').update(Buffer.concat(buffers)).digest('hex');

  it('hashes what was there, what came in pieces with pauses, and what came just before the writer ended', async () => {
    const pieces = [randomBytes(1000), randomBytes(3 * 1024 * 1024 + 7), randomBytes(1), randomBytes(200_000)];
    const path = await fileIn(pieces[0] as Buffer);
    const writing = (async () => {
      for (const piece of pieces.slice(1, -1)) {
        await delay(120);
        await appendFile(path, piece);
      }
      // The last piece lands right before the end is told: it must still be read.
      await appendFile(path, pieces.at(-1) as Buffer);
    })();
    const digest = new Digest();
    await hashWhileWritten(digest, path, writing);
    expect(digest.bytes).toBe(pieces.reduce((n, p) => n + p.length, 0));
    expect(digest.hex()).toBe(sha256(pieces));
  });

  it('ends when the writer fails, with what it wrote, and hashes two parts one after the other', async () => {
    const first = randomBytes(5000);
    const second = randomBytes(70_000);
    const a = await fileIn(first);
    const b = await fileIn(second);
    const digest = new Digest();
    await hashWhileWritten(digest, a, Promise.reject(new Error('the container failed')));
    await hashWhileWritten(digest, b, Promise.resolve());
    expect(digest.hex()).toBe(sha256([first, second]));
  });
});

describe('the lines a tools container says of itself', () => {
  it('are whole lines, however the output was cut; a line cut short never reads as a start', () => {
    const seen: string[] = [];
    const feed = wholeLines((line) => seen.push(line));
    for (const piece of ['marina-be', 'gan\ntar: a warning\nmarina-en', 'ded 1.5 4.0 5.25\n']) feed(piece);
    feed(`${'x'.repeat(5000)}marina-ended 9 9 9`);
    feed('\nlast');
    expect(seen[0]).toBe('marina-began');
    expect(seen[1]).toBe('tar: a warning');
    expect(seen[2]).toBe('marina-ended 1.5 4.0 5.25');
    expect(seen[3]?.startsWith('marina-ended')).toBe(false);
    expect(seen).toHaveLength(4);
    expect(dumpTimes(seen.join('\n'))).toBe('pg_dump took 2.5 s; its folder was archived in 1.3 s.');
    expect(dumpTimes('marina-ended 1.5  5.25')).toBeUndefined();
    expect(dumpTimes('marina-followed 2\nmarina-ended 1 3 4 0')).toBe(
      'pg_dump took 2.0 s (2 data files compressed as it wrote them); its folder was archived in 1.0 s.',
    );
    expect(dumpTimes('marina-followed 1 604\nmarina-ended 1 3 4 0')).toBe(
      'pg_dump took 2.0 s (1 data file compressed as it wrote them, 604 archived once written); its folder was archived in 1.0 s.',
    );
    expect(dumpTimes('marina-followed 0 3\nmarina-ended 1 3 4 0')).toBe(
      'pg_dump took 2.0 s (3 archived once written); its folder was archived in 1.0 s.',
    );
  });
});
