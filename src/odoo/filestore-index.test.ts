import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { FILESTORE_FILE, Sha1Set } from './filestore-index.js';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

async function read(text: string | string[]): Promise<Sha1Set> {
  const reader = Sha1Set.reader();
  await pipeline(Readable.from(Array.isArray(text) ? text : [text]), reader);
  return reader.result();
}

describe('filestore index', () => {
  it("knows Odoo's filestore names: two hex digits, then the 40-digit sha1 they begin", () => {
    const hash = sha1('x');
    expect(FILESTORE_FILE.test(`${hash.slice(0, 2)}/${hash}`)).toBe(true);
    expect(FILESTORE_FILE.test(`00/${hash}`)).toBe(hash.startsWith('00'));
    expect(FILESTORE_FILE.test(`${hash.slice(0, 2)}/${hash}x`)).toBe(false);
    expect(FILESTORE_FILE.test(`../${hash}`)).toBe(false);
    expect(FILESTORE_FILE.test(hash)).toBe(false);
  });

  it('finds every hash of a sorted list, across chunk boundaries and pieces, and nothing else', async () => {
    const hashes = Array.from({ length: 10_000 }, (_, i) => sha1(String(i))).sort();
    const text = `${hashes.join('\n')}\n`;
    // Chunks that cut lines anywhere, as a container's output does.
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 997) chunks.push(text.slice(i, i + 997));
    const set = await read(chunks);
    expect(set.size).toBe(10_000);
    for (const hash of hashes) expect(set.has(hash)).toBe(true);
    for (let i = 10_000; i < 11_000; i++) expect(set.has(sha1(String(i)))).toBe(false);
    const [first] = hashes;
    expect(set.hasFile(`${first?.slice(0, 2)}/${first}`)).toBe(true);
    expect(set.hasFile(`zz/${first}`)).toBe(false);
  });

  it('ignores lines that are not a sha1 and repeated lines; a list out of order gives the empty set', async () => {
    const [a, b] = [sha1('a'), sha1('b')].sort() as [string, string];
    const set = await read(`${a}\nnot a hash\n\\${b}  ./x\n${a}\n${b}`);
    expect(set.size).toBe(2);
    expect(set.has(b)).toBe(true);
    const unordered = await read(`${b}\n${a}\n`);
    expect(unordered.size).toBe(0);
    expect(unordered.has(a)).toBe(false);
    expect((await read('')).size).toBe(0);
  });
});
