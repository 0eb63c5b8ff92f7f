/**
 * Reads a PostgreSQL custom-format dump (`pg_dump --format=c`, Odoo's ".dump") without PostgreSQL:
 * its header, its table of contents and the length of every data block, so that a cut or damaged
 * file is refused at upload; and the `ir_module_module` rows, which say the Odoo version and
 * modules (a .dump has no manifest). Layout: PostgreSQL's pg_backup_archiver.c and
 * pg_backup_custom.c (archive versions 1.10 to 1.16).
 */
import { type FileHandle, open } from 'node:fs/promises';
import { inflateSync, zstdDecompressSync } from 'node:zlib';
import { ArchiveError } from '../../odoo/backup-archive.js';

export const PG_CUSTOM_MAGIC = 'PGDMP';
const FORMAT_CUSTOM = 1;
const BLK_DATA = 1;
const BLK_BLOBS = 3;
const OFFSET_NO_DATA = 3;
/** Odoo's module table holds a few thousand short rows: more than this inflated is not read. */
const MAX_MODULE_TABLE_BYTES = 64 * 1024 * 1024;

/** An archive version as PostgreSQL compares them: 1.14 is 0x010e00. */
export const archiveVersion = (major: number, minor: number, rev = 0) => (major << 16) | (minor << 8) | rev;

/**
 * The newest archive version each pg_restore reads (K_VERS_MAX): 1.14 up to PostgreSQL 15, 1.15
 * in 16 (the compression algorithm byte), 1.16 from 17 (large-object metadata entries).
 */
export function maxArchiveVersionOf(pgMajor: number): number {
  if (pgMajor >= 17) return archiveVersion(1, 16);
  if (pgMajor === 16) return archiveVersion(1, 15);
  return archiveVersion(1, 14);
}

/** The PostgreSQL release that first writes an archive version: what to name when refusing it. */
function firstPgWriting(version: number): string {
  if (version >= archiveVersion(1, 16)) return 'PostgreSQL 17 or newer';
  if (version >= archiveVersion(1, 15)) return 'PostgreSQL 16';
  return 'an older PostgreSQL';
}

export interface CustomDumpSummary {
  /** "1.14". */
  archiveVersion: string;
  /** The database's name when it was dumped. */
  dbName: string;
  /** The server's version that pg_dump read ("15.20 (Debian …)"). */
  serverVersion: string;
  /** pg_dump's own version. */
  dumpVersion: string;
  tocEntries: number;
  dataBlocks: number;
  /** Installed modules and their versions, from ir_module_module; empty when the table is absent. */
  modules: Record<string, string>;
  /** The base module's version ("17.0.1.3"), or undefined: then this is no Odoo database. */
  baseVersion?: string;
}

const truncated = () =>
  new ArchiveError(
    'corrupt',
    'This file is a PostgreSQL custom-format dump that is cut short (it ends in the middle): download it again.',
  );

/** Reads a file front to back through a buffer; skipping forward costs no read when it stays inside it. */
class FileCursor {
  private buffer = Buffer.alloc(0);
  private bufferAt = 0;
  position = 0;
  constructor(
    private readonly file: FileHandle,
    readonly size: number,
  ) {}

  private async fill(want: number): Promise<void> {
    const length = Math.max(want, 256 * 1024);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.file.read(buffer, 0, length, this.position);
    this.buffer = buffer.subarray(0, bytesRead);
    this.bufferAt = this.position;
  }

  async bytes(count: number): Promise<Buffer> {
    if (count < 0 || this.position + count > this.size) throw truncated();
    const offset = this.position - this.bufferAt;
    if (offset < 0 || offset + count > this.buffer.length) await this.fill(count);
    const start = this.position - this.bufferAt;
    this.position += count;
    return this.buffer.subarray(start, start + count);
  }

  skip(count: number): void {
    if (count < 0 || this.position + count > this.size) throw truncated();
    this.position += count;
  }

  get atEnd(): boolean {
    return this.position >= this.size;
  }
}

/** The header's integer and string encodings, which depend on its int and offset sizes. */
class DumpReader {
  intSize = 4;
  offSize = 8;
  version = 0;
  constructor(readonly cursor: FileCursor) {}

  async byte(): Promise<number> {
    return (await this.cursor.bytes(1))[0] as number;
  }

  async int(): Promise<number> {
    const raw = await this.cursor.bytes(this.intSize + (this.version > archiveVersion(1, 0) ? 1 : 0));
    const signed = this.version > archiveVersion(1, 0);
    let value = 0;
    for (let i = raw.length - 1; i >= (signed ? 1 : 0); i--) value = value * 256 + (raw[i] as number);
    return signed && raw[0] !== 0 ? -value : value;
  }

  async str(): Promise<string | null> {
    const length = await this.int();
    if (length < 0) return null;
    return (await this.cursor.bytes(length)).toString('utf8');
  }

  async offset(): Promise<{ state: number; position: number }> {
    const state = await this.byte();
    const raw = await this.cursor.bytes(this.offSize);
    let position = 0;
    for (let i = raw.length - 1; i >= 0; i--) position = position * 256 + (raw[i] as number);
    return { state, position };
  }
}

interface TocEntry {
  dumpId: number;
  tag: string;
  desc: string;
  namespace: string;
  copyStmt: string;
  hasData: boolean;
}

type Compression = 'none' | 'gzip' | 'lz4' | 'zstd';

/**
 * Checks a custom-format dump through to its last byte (as `pg_restore --list` reads its table of
 * contents, then every data block's length) against what `maxVersion` pg_restore reads.
 */
export async function inspectCustomDump(path: string, maxVersion: number): Promise<CustomDumpSummary> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const r = new DumpReader(new FileCursor(file, size));
    if ((await r.cursor.bytes(5)).toString('latin1') !== PG_CUSTOM_MAGIC)
      throw new ArchiveError('corrupt', 'This file is not a PostgreSQL custom-format dump.');
    const major = await r.byte();
    const minor = await r.byte();
    const rev = major > 1 || (major === 1 && minor > 0) ? await r.byte() : 0;
    r.version = archiveVersion(major, minor, rev);
    const shown = `${major}.${minor}`;
    if (r.version < archiveVersion(1, 10))
      throw new ArchiveError(
        'version',
        `This file is a PostgreSQL custom-format dump of archive version ${shown}, older than Marina reads (1.10, PostgreSQL 9.0).`,
      );
    if (r.version > maxVersion)
      throw new ArchiveError(
        'version',
        `This file is a PostgreSQL custom-format dump of archive version ${shown}, written by ${firstPgWriting(r.version)}; this Marina's pg_restore reads versions up to ${maxVersion >> 16}.${(maxVersion >> 8) & 0xff}. Make the dump with a pg_dump no newer than the database server.`,
      );
    r.intSize = await r.byte();
    r.offSize = await r.byte();
    if (r.intSize < 1 || r.intSize > 8 || r.offSize < 1 || r.offSize > 8)
      throw new ArchiveError('corrupt', 'This PostgreSQL dump has a damaged header.');
    const format = await r.byte();
    if (format !== FORMAT_CUSTOM)
      throw new ArchiveError(
        'corrupt',
        'This file is the table of contents of a PostgreSQL directory-format dump, not a custom-format dump (pg_dump --format=c).',
      );
    let compression: Compression;
    if (r.version >= archiveVersion(1, 15)) {
      const algorithm = await r.byte();
      compression = (['none', 'gzip', 'lz4', 'zstd'] as const)[algorithm] ?? 'none';
    } else compression = (await r.int()) === 0 ? 'none' : 'gzip';
    for (let i = 0; i < 7; i++) await r.int(); // the time it was made
    const dbName = (await r.str()) ?? '';
    const serverVersion = (await r.str()) ?? '';
    const dumpVersion = (await r.str()) ?? '';
    const toc = await readToc(r);
    const modules = await walkData(r, toc, compression);
    return {
      archiveVersion: shown,
      dbName,
      serverVersion,
      dumpVersion,
      tocEntries: toc.length,
      dataBlocks: toc.filter((e) => e.hasData).length,
      modules: modules ?? {},
      baseVersion: modules?.base,
    };
  } finally {
    await file.close();
  }
}

async function readToc(r: DumpReader): Promise<TocEntry[]> {
  const count = await r.int();
  if (count < 0 || count > 10_000_000)
    throw new ArchiveError('corrupt', 'This PostgreSQL dump has a damaged table of contents.');
  const entries: TocEntry[] = [];
  for (let i = 0; i < count; i++) {
    const dumpId = await r.int();
    await r.int(); // hadDumper
    await r.str(); // table oid
    await r.str(); // oid
    const tag = (await r.str()) ?? '';
    const desc = (await r.str()) ?? '';
    if (r.version >= archiveVersion(1, 11)) await r.int(); // section
    await r.str(); // definition
    await r.str(); // drop statement
    const copyStmt = (await r.str()) ?? '';
    const namespace = (await r.str()) ?? '';
    await r.str(); // tablespace
    if (r.version >= archiveVersion(1, 14)) await r.str(); // table access method
    if (r.version >= archiveVersion(1, 16)) await r.int(); // relkind
    await r.str(); // owner
    await r.str(); // "with oids"
    while ((await r.str()) !== null); // dependencies, ended by a null string
    const data = await r.offset();
    entries.push({ dumpId, tag, desc, namespace, copyStmt, hasData: data.state !== OFFSET_NO_DATA });
  }
  return entries;
}

/**
 * Walks the data blocks after the table of contents (each: type, dump id, length-prefixed chunks
 * ending with a zero length) up to the end of the file; every entry with data must have its block.
 * Answers the installed modules when the dump holds Odoo's module table.
 */
async function walkData(
  r: DumpReader,
  toc: TocEntry[],
  compression: Compression,
): Promise<Record<string, string> | undefined> {
  const expected = new Set(toc.filter((e) => e.hasData).map((e) => e.dumpId));
  const modulesEntry = toc.find((e) => e.desc === 'TABLE DATA' && e.tag === 'ir_module_module');
  let modules: Record<string, string> | undefined;
  while (!r.cursor.atEnd) {
    const type = await r.byte();
    const id = await r.int();
    if (type === BLK_DATA) {
      const keep = id === modulesEntry?.dumpId;
      const chunks = await chunksOf(r, keep);
      if (keep && modulesEntry) modules = moduleRows(modulesEntry.copyStmt, decompress(chunks, compression));
    } else if (type === BLK_BLOBS) {
      while ((await r.int()) !== 0) await chunksOf(r, false);
    } else throw new ArchiveError('corrupt', 'This PostgreSQL dump is damaged (an unknown data block).');
    expected.delete(id);
  }
  if (expected.size > 0) throw truncated();
  return modules;
}

async function chunksOf(r: DumpReader, keep: boolean): Promise<Buffer[]> {
  const kept: Buffer[] = [];
  let total = 0;
  for (let length = await r.int(); length !== 0; length = await r.int()) {
    if (length < 0) throw new ArchiveError('corrupt', 'This PostgreSQL dump is damaged (a negative block length).');
    total += length;
    if (keep && total <= MAX_MODULE_TABLE_BYTES) kept.push(Buffer.from(await r.cursor.bytes(length)));
    else r.cursor.skip(length);
  }
  return kept;
}

function decompress(chunks: Buffer[], compression: Compression): string | undefined {
  const raw = Buffer.concat(chunks);
  try {
    if (compression === 'none') return raw.toString('utf8');
    if (compression === 'gzip') return inflateSync(raw).toString('utf8');
    if (compression === 'zstd') return zstdDecompressSync(raw).toString('utf8');
  } catch {
    throw new ArchiveError('corrupt', "This PostgreSQL dump is damaged (Odoo's module table does not decompress).");
  }
  return undefined; // lz4: not read here; the version then comes from the target alone
}

/** name → latest_version of installed modules, from the COPY text of ir_module_module. */
function moduleRows(copyStmt: string, text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const columns = /\(([^)]*)\)/
    .exec(copyStmt)?.[1]
    ?.split(',')
    .map((c) => c.trim().replace(/^"|"$/g, ''));
  if (!columns) return undefined;
  const name = columns.indexOf('name');
  const version = columns.indexOf('latest_version');
  const state = columns.indexOf('state');
  if (name < 0 || version < 0 || state < 0) return undefined;
  const modules: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line === '' || line === '\\.') continue;
    const fields = line.split('\t');
    if (fields[state] !== 'installed') continue;
    const value = fields[version];
    modules[fields[name] ?? ''] = value === undefined || value === '\\N' ? '' : value;
  }
  return modules;
}
