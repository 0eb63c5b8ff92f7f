import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Mismatch, VerifiedStream } from './verified-stream.js';

const chunks = [Buffer.from('first part '), Buffer.from('second part '), Buffer.from('last part')];
const whole = Buffer.concat(chunks);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function run(expected: { sha256: string; bytes: number }) {
  const mismatches: Mismatch[] = [];
  const received: Buffer[] = [];
  const stream = Readable.from(chunks).pipe(new VerifiedStream(expected, (m) => mismatches.push(m)));
  let error: unknown;
  try {
    for await (const chunk of stream) received.push(chunk as Buffer);
  } catch (e) {
    error = e;
  }
  return { received: Buffer.concat(received), mismatches, error };
}

describe('VerifiedStream', () => {
  it('passes the expected bytes through whole', async () => {
    const { received, mismatches, error } = await run({ sha256: sha(whole), bytes: whole.length });
    expect(error).toBeUndefined();
    expect(received.equals(whole)).toBe(true);
    expect(mismatches).toEqual([]);
  });

  it('fails before the last bytes when the content differs, or the length', async () => {
    for (const expected of [
      { sha256: sha(Buffer.from('something else')), bytes: whole.length },
      { sha256: sha(whole), bytes: whole.length + 1 },
    ]) {
      const { received, mismatches, error } = await run(expected);
      expect(String(error)).toMatch(/does not match the backup's checksum/);
      expect(received.length).toBeLessThan(whole.length);
      expect(mismatches).toEqual([{ sha256: sha(whole), bytes: whole.length }]);
    }
  });
});
