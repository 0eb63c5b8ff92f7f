/**
 * Just enough of the zip format to look inside a backup before uploading it: the entry names and
 * manifest.json, read from the end of the file (the central directory), never the whole file.
 * Also what any other chosen file is, from its first bytes (never its name): a PostgreSQL
 * custom-format .dump is accepted, anything else refused in the server's words
 * (src/adapters/archive/file-kind.ts), saying what the file is and what Marina accepts.
 */

export interface OdooManifest {
  odoo_dump?: string;
  db_name?: string;
  version?: string;
  major_version?: string;
  pg_version?: string;
  modules?: Record<string, string>;
}

export interface ZipSummary {
  manifest: OdooManifest | null;
  /** The zip names a manifest.json (even one the browser could not read). */
  hasManifest: boolean;
  hasDump: boolean;
  filestoreFiles: number;
  entries: number;
}

export class NotAZipError extends Error {}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_CENTRAL_BYTES = 64 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

async function bytes(file: Blob, start: number, end: number): Promise<DataView> {
  return new DataView(await file.slice(start, end).arrayBuffer());
}

const u64 = (view: DataView, at: number): number => Number(view.getBigUint64(at, true));

async function centralDirectory(file: Blob): Promise<{ offset: number; size: number }> {
  const tailStart = Math.max(0, file.size - (22 + 65535));
  const tail = await bytes(file, tailStart, file.size);
  for (let at = tail.byteLength - 22; at >= 0; at--) {
    if (tail.getUint32(at, true) !== EOCD) continue;
    let size = tail.getUint32(at + 12, true);
    let offset = tail.getUint32(at + 16, true);
    if ((offset === 0xffffffff || size === 0xffffffff) && at >= 20 && tail.getUint32(at - 20, true) === ZIP64_LOCATOR) {
      const recordAt = u64(tail, at - 20 + 8);
      const record = await bytes(file, recordAt, recordAt + 56);
      if (record.getUint32(0, true) !== ZIP64_EOCD) throw new NotAZipError('damaged zip64 directory');
      size = u64(record, 40);
      offset = u64(record, 48);
    }
    return { offset, size };
  }
  throw new NotAZipError('no end of central directory');
}

async function inflate(data: ArrayBuffer, method: number): Promise<ArrayBuffer> {
  if (method === 0) return data;
  if (method !== 8) throw new Error(`compression method ${method}`);
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Response(stream).arrayBuffer();
}

/** Reads the central directory and manifest.json of a zip; throws NotAZipError when it is none. */
export async function inspectZip(file: Blob): Promise<ZipSummary> {
  const { offset, size } = await centralDirectory(file);
  if (size > MAX_CENTRAL_BYTES || offset + size > file.size) throw new NotAZipError('central directory out of range');
  const dir = await bytes(file, offset, offset + size);
  const decoder = new TextDecoder();
  const summary: ZipSummary = { manifest: null, hasManifest: false, hasDump: false, filestoreFiles: 0, entries: 0 };
  let manifestEntry: { method: number; compressed: number; local: number } | null = null;
  let at = 0;
  while (at + 46 <= dir.byteLength && dir.getUint32(at, true) === CENTRAL) {
    const method = dir.getUint16(at + 10, true);
    let compressed = dir.getUint32(at + 20, true);
    let uncompressed = dir.getUint32(at + 24, true);
    const nameLength = dir.getUint16(at + 28, true);
    const extraLength = dir.getUint16(at + 30, true);
    const commentLength = dir.getUint16(at + 32, true);
    let local = dir.getUint32(at + 42, true);
    const name = decoder.decode(new Uint8Array(dir.buffer, dir.byteOffset + at + 46, nameLength));
    // Zip64: the real sizes and offset sit in extra field 0x0001, in this order, when the 32-bit ones overflow.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = dir.getUint16(extra, true);
      const length = dir.getUint16(extra + 2, true);
      if (id === 0x0001) {
        let field = extra + 4;
        if (uncompressed === 0xffffffff) {
          uncompressed = u64(dir, field);
          field += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = u64(dir, field);
          field += 8;
        }
        if (local === 0xffffffff) local = u64(dir, field);
      }
      extra += 4 + length;
    }
    summary.entries++;
    if (name === 'dump.sql') summary.hasDump = true;
    else if (name === 'manifest.json') {
      manifestEntry = { method, compressed, local };
      summary.hasManifest = true;
    } else if (name.startsWith('filestore/') && !name.endsWith('/')) summary.filestoreFiles++;
    at = extraEnd + commentLength;
  }
  if (summary.entries === 0) throw new NotAZipError('no entries');
  if (manifestEntry && manifestEntry.compressed <= MAX_MANIFEST_BYTES) {
    try {
      const header = await bytes(file, manifestEntry.local, manifestEntry.local + 30);
      if (header.getUint32(0, true) === LOCAL) {
        const start = manifestEntry.local + 30 + header.getUint16(26, true) + header.getUint16(28, true);
        const raw = await file.slice(start, start + manifestEntry.compressed).arrayBuffer();
        const parsed: unknown = JSON.parse(decoder.decode(await inflate(raw, manifestEntry.method)));
        if (typeof parsed === 'object' && parsed !== null) summary.manifest = parsed as OdooManifest;
      }
    } catch {
      // An unreadable manifest is the server's to judge; the page only loses its preview.
    }
  }
  return summary;
}

/** "17.0" from a manifest's major_version or version ("17.0", "saas~17.2", "17.0+e"). */
export function manifestVersion(manifest: OdooManifest | null): string | null {
  const text = manifest?.major_version ?? manifest?.version ?? '';
  const match = /(\d+)\.\d+/.exec(text);
  return match ? `${match[1]}.0` : null;
}

export const ACCEPTED =
  "Marina accepts an Odoo backup zip (with or without filestore) or a PostgreSQL custom-format dump (.dump) from Odoo's database manager.";

/** A chosen file Marina does not import; the message says what it is and what Marina accepts. */
export class NotABackupError extends Error {}

/** What the header of a custom-format dump says (its data is checked by the server, which reads it all). */
export interface DumpSummary {
  archiveVersion: string;
  dbName: string;
  serverVersion: string;
}

export type BackupFileSummary = { kind: 'zip'; zip: ZipSummary } | { kind: 'dump'; dump: DumpSummary };

const starts = (head: Uint8Array, bytes: number[]) => bytes.every((b, i) => head[i] === b);
const latin1 = (head: Uint8Array, from: number, to: number) => String.fromCharCode(...head.subarray(from, to));

/** What a file that is neither a zip nor a custom-format dump is, in the server's words. */
function whatItIs(head: Uint8Array): string {
  if (head.length === 0) return 'This file is empty';
  if (latin1(head, 0, 5) === 'PGDMP')
    return 'This file is the toc.dat of a PostgreSQL directory-format dump (pg_dump --format=d), not an Odoo backup';
  if (starts(head, [0x1f, 0x8b])) return 'This file is a gzip archive, not an Odoo backup';
  if (starts(head, [0x28, 0xb5, 0x2f, 0xfd]))
    return "This file is a zstd archive (perhaps a Marina .tar.zst backup, which is restored from Marina's backups list), not an Odoo backup";
  if (starts(head, [0x42, 0x5a, 0x68])) return 'This file is a bzip2 archive, not an Odoo backup';
  if (starts(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'This file is an xz archive, not an Odoo backup';
  if (starts(head, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return 'This file is a 7-Zip archive, not an Odoo backup';
  if (latin1(head, 0, 4) === 'Rar!') return 'This file is a RAR archive, not an Odoo backup';
  if (head.length >= 262 && latin1(head, 257, 262) === 'ustar')
    return latin1(head, 0, 8) === 'toc.dat\0'
      ? 'This file is a PostgreSQL tar-format dump (pg_dump --format=t), not an Odoo backup'
      : 'This file is a tar archive, not an Odoo backup';
  const text = new TextDecoder('utf-8').decode(head);
  if (!text.includes('\0') && !text.slice(0, -4).includes('\uFFFD'))
    return /^\s*(--|\/\*|SET\s|SELECT\s|CREATE\s|ALTER\s|INSERT\s|COPY\s|BEGIN\s*;|DROP\s|COMMENT\s)/im.test(text)
      ? 'This file is a plain SQL script (pg_dump --format=p), not an Odoo backup'
      : 'This file is a text file, not an Odoo backup';
  return 'This file is not an Odoo backup (neither a zip nor a PostgreSQL dump)';
}

/** The header of a custom-format dump: magic, archive version, int size, then the fields in order. */
function dumpHeader(head: Uint8Array): DumpSummary {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const major = head[5] ?? 0;
  const minor = head[6] ?? 0;
  const intSize = head[8] ?? 4;
  if (head[10] !== 1) throw new NotABackupError(`${whatItIs(head)}. ${ACCEPTED}`);
  let at = 11;
  const readInt = (): number => {
    const sign = head[at] ?? 0;
    let value = 0;
    for (let i = intSize; i >= 1; i--) value = value * 256 + view.getUint8(at + i);
    at += 1 + intSize;
    return sign ? -value : value;
  };
  const readStr = (): string => {
    const length = readInt();
    if (length < 0) return '';
    const text = new TextDecoder().decode(head.subarray(at, at + length));
    at += length;
    return text;
  };
  try {
    if (major > 1 || minor >= 15) at += 1;
    else readInt();
    for (let i = 0; i < 7; i++) readInt();
    const dbName = readStr();
    const serverVersion = readStr();
    return { archiveVersion: `${major}.${minor}`, dbName, serverVersion };
  } catch {
    throw new NotABackupError(
      'This file is a PostgreSQL custom-format dump that is cut short (it ends in the middle): download it again.',
    );
  }
}

/**
 * What a chosen file is, by its content: an Odoo zip (its summary), a custom-format .dump (its
 * header), or refused with a NotABackupError that says what it is and what Marina accepts.
 */
export async function inspectBackupFile(file: Blob): Promise<BackupFileSummary> {
  const head = new Uint8Array(await file.slice(0, 4096).arrayBuffer());
  if (latin1(head, 0, 5) === 'PGDMP' && head[10] !== 5) return { kind: 'dump', dump: dumpHeader(head) };
  const zipStart = starts(head, [0x50, 0x4b, 0x03, 0x04]) || starts(head, [0x50, 0x4b, 0x05, 0x06]);
  if (!zipStart) throw new NotABackupError(`${whatItIs(head)}. ${ACCEPTED}`);
  let zip: ZipSummary;
  try {
    zip = await inspectZip(file);
  } catch (caught) {
    if (caught instanceof NotAZipError && caught.message === 'no entries')
      throw new NotABackupError(`This file is an empty zip archive, not an Odoo backup. ${ACCEPTED}`);
    if (caught instanceof NotAZipError)
      throw new NotABackupError(
        `This file is a zip archive that is damaged or cut short (${caught.message}): download it again. ${ACCEPTED}`,
      );
    throw caught;
  }
  if (!zip.hasDump)
    throw new NotABackupError(
      `This file is a zip archive with no dump.sql (no database in it), not an Odoo backup. ${ACCEPTED}`,
    );
  if (!zip.hasManifest)
    throw new NotABackupError(
      `This file is a zip archive with a dump.sql but no manifest.json: it was not made by Odoo's database manager or Odoo.sh. ${ACCEPTED}`,
    );
  return { kind: 'zip', zip };
}
