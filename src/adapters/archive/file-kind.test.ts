import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCEPTED, kindOfHead, refusalOf } from './file-kind.js';
import { archiveVersion, inspectCustomDump, maxArchiveVersionOf } from './pg-custom-dump.js';

/** Issue #17: a file is known by its first bytes, never its name; refusals say what it is and what is accepted. */
describe('what an uploaded file is', () => {
  const tar = Buffer.alloc(1024);
  tar.write('notes.txt', 0);
  tar.write('ustar', 257);
  const pgTar = Buffer.from(tar);
  pgTar.write('toc.dat\0', 0);

  it.each([
    ['zip', Buffer.from('PK\x03\x04rest', 'latin1')],
    ['zip', Buffer.from('PK\x05\x06', 'latin1')],
    ['pg-custom', Buffer.from('PGDMP\x01\x0e\x00\x04\x08\x01', 'latin1')],
    ['pg-directory-toc', Buffer.from('PGDMP\x01\x0e\x00\x04\x08\x05', 'latin1')],
    ['gzip', gzipSync('x')],
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])],
    ['tar', tar],
    ['pg-tar', pgTar],
    ['sql', Buffer.from('--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n')],
    ['text', Buffer.from('hello, this is a letter\n')],
    ['empty', Buffer.alloc(0)],
    ['unknown', Buffer.from([0, 1, 2, 3, 0xff, 0xfe])],
  ])('%s', (kind, head) => {
    expect(kindOfHead(head)).toBe(kind);
  });

  it('words a refusal as what the file is, then what Marina accepts', () => {
    expect(refusalOf('gzip')).toBe(`This file is a gzip archive, not an Odoo backup. ${ACCEPTED}`);
    expect(refusalOf('empty')).toBe(`This file is empty. ${ACCEPTED}`);
  });
});

describe('a custom-format dump read without PostgreSQL', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'marina-pgdump-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A minimal archive 1.14 header: magic, version, int size 4, offset size 8, custom format, no compression. */
  function header(version = [1, 14, 0]): Buffer {
    const int = (n: number) =>
      Buffer.from([n < 0 ? 1 : 0, ...[0, 1, 2, 3].map((i) => (Math.abs(n) >> (8 * i)) & 0xff)]);
    const str = (s: string) => Buffer.concat([int(Buffer.byteLength(s)), Buffer.from(s)]);
    return Buffer.concat([
      Buffer.from('PGDMP', 'latin1'),
      Buffer.from([...version, 4, 8, 1]),
      int(0), // compression level
      ...Array.from({ length: 7 }, () => int(0)),
      str('erp'),
      str('15.20'),
      str('15.20'),
      int(0), // no TOC entries
    ]);
  }

  it('reads a header and an empty table of contents; refuses versions its pg_restore cannot read', async () => {
    const ok = join(dir, 'ok.dump');
    await writeFile(ok, header());
    expect(await inspectCustomDump(ok, maxArchiveVersionOf(15))).toMatchObject({
      archiveVersion: '1.14',
      dbName: 'erp',
      tocEntries: 0,
    });
    const newer = join(dir, 'newer.dump');
    await writeFile(newer, header([1, 15, 0]));
    await expect(inspectCustomDump(newer, maxArchiveVersionOf(15))).rejects.toThrow(
      /archive version 1\.15, written by PostgreSQL 16; this Marina's pg_restore reads versions up to 1\.14/,
    );
    expect(maxArchiveVersionOf(17)).toBe(archiveVersion(1, 16));
  });

  it('refuses a dump cut short', async () => {
    const cut = join(dir, 'cut.dump');
    await writeFile(cut, header().subarray(0, 30));
    await expect(inspectCustomDump(cut, maxArchiveVersionOf(15))).rejects.toThrow(/cut short/);
  });
});
