import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END_OF_ARCHIVE, fileEntry, fileHeader, renameTarEntries } from './tar-rename.js';

/** Runs `input` through the renamer in pieces of `piece` bytes (headers cut anywhere). */
async function renamed(input: Buffer, options: Parameters<typeof renameTarEntries>[0], piece = 997): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < input.length; at += piece) pieces.push(input.subarray(at, at + piece));
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    renameTarEntries(options),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(out);
}

interface Read {
  name: string;
  type: string;
  mode: number;
  uid: number;
  content: Buffer;
}

async function entries(tar: Buffer): Promise<Read[]> {
  const extract = tarStream.extract();
  const found: Read[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const h = entry.header;
      found.push({
        name: h.name,
        type: h.type ?? '',
        mode: h.mode ?? 0,
        uid: h.uid ?? -1,
        content: Buffer.concat(chunks),
      });
    }
  })();
  await pipeline(Readable.from([tar]), extract);
  await reading;
  return found;
}

const intoFilestore = (name: string) => {
  const relative = name.split('/').slice(1).join('/');
  return relative === '' ? undefined : `filestore/${relative}`;
};

describe('renaming the entries of a tar stream', () => {
  let dir: string;
  const big = randomBytes(300_000);
  const long = `${'a'.repeat(90)}/${'b'.repeat(90)}/${'c'.repeat(80)}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marina-tar-rename-'));
    const db = join(dir, 'db1');
    await mkdir(join(db, 'ab'), { recursive: true });
    await mkdir(join(db, long.split('/').slice(0, 2).join('/')), { recursive: true });
    await writeFile(join(db, 'ab', 'abcdef'), big);
    await writeFile(join(db, 'ab', 'empty'), '');
    await writeFile(join(db, long), 'deep');
    await symlink('/etc/passwd', join(db, 'ab', 'pointing-out'));
    await link(join(db, 'ab', 'abcdef'), join(db, 'ab', 'hard'));
    spawnSync('mkfifo', [join(db, 'ab', 'fifo')]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const tarOf = (format: string) => {
    const made = spawnSync('tar', ['-C', dir, `--format=${format}`, '-cf', '-', 'db1'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(made.status, made.stderr.toString()).toBe(0);
    return made.stdout;
  };

  it.each(['posix', 'gnu'])('keeps regular files only, renamed, as %s tar writes them', async (format) => {
    const source = tarOf(format);
    const out = await renamed(source, { rename: intoFilestore, last: true });
    const found = await entries(out);
    // A hard link's first name is the file, the other is a link (dropped): which is first is the folder's order.
    const kept = found.find((e) => e.name === 'filestore/ab/abcdef' || e.name === 'filestore/ab/hard');
    const expected = [
      kept?.name ?? 'no copy of the hard-linked file',
      'filestore/ab/empty',
      `filestore/${long}`,
    ].sort();
    expect(found.map((e) => e.name).sort()).toEqual(expected);
    expect(kept?.content.equals(big)).toBe(true);
    for (const entry of found) {
      expect(entry.type).toBe('file');
      expect(entry.mode).toBe(0o600);
      expect(entry.uid).toBe(0);
    }
    expect(found.find((e) => e.name.endsWith('c'.repeat(80)))?.content.toString()).toBe('deep');
    // GNU tar reads it too, and the stream ends with tar's end blocks.
    const listed = spawnSync('tar', ['-tf', '-'], { input: out });
    expect(listed.status).toBe(0);
    expect(listed.stdout.toString().trim().split('\n').sort()).toEqual(expected);
    expect(out.subarray(-1024).equals(END_OF_ARCHIVE)).toBe(true);
  });

  it('writes a prelude first and leaves the end blocks off a part another follows', async () => {
    const manifest = Buffer.from('{"version": "17.0"}');
    const first = await renamed(tarOf('posix'), {
      rename: intoFilestore,
      prelude: fileEntry('manifest.json', manifest),
      last: false,
    });
    const second = await renamed(tarOf('posix'), {
      rename: (n) => intoFilestore(n)?.replace('filestore/', 'again/'),
      last: true,
    });
    const found = await entries(Buffer.concat([first, second]));
    expect(found[0]?.name).toBe('manifest.json');
    expect(found[0]?.content.equals(manifest)).toBe(true);
    expect(found.map((e) => e.name)).toContain('again/ab/empty');
    expect(found).toHaveLength(7);
    expect(found.filter((e) => e.name.startsWith('filestore/'))).toHaveLength(3);
  });

  it('makes a part of the prelude alone from no bytes at all (a folder that does not exist)', async () => {
    const out = await renamed(Buffer.alloc(0), {
      rename: intoFilestore,
      prelude: fileEntry('m', Buffer.from('x')),
      last: true,
    });
    expect((await entries(out)).map((e) => e.name)).toEqual(['m']);
  });

  it('refuses a stream cut inside an entry, and a header whose checksum is wrong', async () => {
    const source = tarOf('posix');
    await expect(renamed(source.subarray(0, 5000), { rename: intoFilestore, last: true })).rejects.toThrow(/cut/);
    const bad = Buffer.from(source);
    bad[10] = (bad[10] ?? 0) ^ 1;
    await expect(renamed(bad, { rename: intoFilestore, last: true })).rejects.toThrow(/checksum/);
  });

  it('writes long names and sizes over 8 GiB in PAX records', () => {
    const name = `filestore/${'x'.repeat(200)}`;
    const header = fileHeader(name, 2 ** 33 + 1, 0);
    expect(header.length).toBe(3 * 512);
    expect(String.fromCharCode(header[156] ?? 0)).toBe('x');
    const records = header.subarray(512, 1024).toString('utf8');
    expect(records).toContain(` path=${name}\n`);
    expect(records).toContain(' size=8589934593\n');
    for (const record of records.replace(/\0+$/, '').split(/(?<=\n)/)) {
      expect(Number(record.split(' ')[0])).toBe(Buffer.byteLength(record));
    }
    // A name that splits at a slash into ustar's prefix and name needs no PAX header.
    expect(fileHeader(`filestore/${'p'.repeat(120)}/${'n'.repeat(60)}`, 1).length).toBe(512);
  });
});
