/**
 * What an uploaded file is, from its first bytes (never its name): an Odoo backup zip, a
 * PostgreSQL custom-format dump, or one of the files people upload by mistake — each refused with
 * what it is and what Marina accepts. web/src/zip.ts words the same refusals in the browser.
 */
import { open } from 'node:fs/promises';

export type FileKind =
  | 'zip'
  | 'pg-custom'
  | 'pg-directory-toc'
  | 'pg-tar'
  | 'empty'
  | 'gzip'
  | 'zstd'
  | 'bzip2'
  | 'xz'
  | '7z'
  | 'rar'
  | 'tar'
  | 'sql'
  | 'text'
  | 'unknown';

export const ACCEPTED =
  "Marina accepts an Odoo backup zip (with or without filestore) or a PostgreSQL custom-format dump (.dump) from Odoo's database manager.";

const HEAD_BYTES = 4096;

const startsWith = (head: Buffer, bytes: number[]) => bytes.every((b, i) => head[i] === b);

/** The kind of file these first bytes begin; `head` holds the file's first 4 KiB (or all of it). */
export function kindOfHead(head: Buffer): FileKind {
  if (head.length === 0) return 'empty';
  // PK\3\4: a zip's first entry; PK\5\6: a zip with no entries at all.
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return head[10] === 5 ? 'pg-directory-toc' : 'pg-custom';
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (startsWith(head, [0x42, 0x5a, 0x68])) return 'bzip2';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(head, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return '7z';
  if (head.subarray(0, 4).toString('latin1') === 'Rar!') return 'rar';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') {
    // pg_dump --format=t writes toc.dat first.
    return head.subarray(0, 8).toString('latin1') === 'toc.dat\0' ? 'pg-tar' : 'tar';
  }
  const text = head.toString('utf8');
  // Text: no NUL, no replacement characters (except one cut at the end of the 4 KiB).
  if (!text.includes('\0') && !text.slice(0, -4).includes('\uFFFD')) {
    const statements = /^\s*(--|\/\*|SET\s|SELECT\s|CREATE\s|ALTER\s|INSERT\s|COPY\s|BEGIN\s*;|DROP\s|COMMENT\s)/im;
    return statements.test(text) ? 'sql' : 'text';
  }
  return 'unknown';
}

export async function kindOfFile(path: string): Promise<FileKind> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await file.read(head, 0, HEAD_BYTES, 0);
    return kindOfHead(head.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}

const what: Record<Exclude<FileKind, 'zip' | 'pg-custom'>, string> = {
  empty: 'This file is empty',
  'pg-directory-toc':
    'This file is the toc.dat of a PostgreSQL directory-format dump (pg_dump --format=d), not an Odoo backup',
  'pg-tar': 'This file is a PostgreSQL tar-format dump (pg_dump --format=t), not an Odoo backup',
  gzip: 'This file is a gzip archive, not an Odoo backup',
  zstd: "This file is a zstd archive (perhaps a Marina .tar.zst backup, which is restored from Marina's backups list), not an Odoo backup",
  bzip2: 'This file is a bzip2 archive, not an Odoo backup',
  xz: 'This file is an xz archive, not an Odoo backup',
  '7z': 'This file is a 7-Zip archive, not an Odoo backup',
  rar: 'This file is a RAR archive, not an Odoo backup',
  tar: 'This file is a tar archive, not an Odoo backup',
  sql: 'This file is a plain SQL script (pg_dump --format=p), not an Odoo backup',
  text: 'This file is a text file, not an Odoo backup',
  unknown: 'This file is not an Odoo backup (neither a zip nor a PostgreSQL dump)',
};

/** The refusal of a file Marina does not import: what it is, then what Marina accepts. */
export function refusalOf(kind: Exclude<FileKind, 'zip' | 'pg-custom'>): string {
  return `${what[kind]}. ${ACCEPTED}`;
}
