import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import type yauzl from 'yauzl';
import { ArchiveError, DUMP_SQL, MANIFEST, safeEntryName } from '../../odoo/backup-archive.js';
import { PsqlScriptScanner } from '../../odoo/psql-script.js';
import { lazyImport } from '../../platform/lazy.js';
import { ACCEPTED } from './file-kind.js';

export interface ZipEntryInfo {
  name: string;
  size: number;
  directory: boolean;
  mtime: Date;
  entry: yauzl.Entry;
}

/** What an untrusted archive may hold; checked from its central directory, then again while inflating. */
export interface ArchiveLimits {
  maxUncompressedBytes: number;
  maxEntries: number;
  /** Inflated size over stored size, per entry and for the whole archive. */
  maxCompressionRatio: number;
}

/**
 * Below this size a ratio says nothing (a few kilobytes of blank lines compress a thousandfold
 * and harm no one); above it, per entry and in total, the ratio cap applies.
 */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

const gib = (bytes: number) =>
  bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.ceil(bytes / 1024 ** 2)} MiB`;

const tooLarge = (message: string) => new ArchiveError('too-large', message);

export interface ZipSummary {
  entries: number;
  uncompressedBytes: number;
  manifest?: string;
  hasDump: boolean;
  filestoreFiles: number;
}

/** yauzl is loaded with the first zip (an import or a restore of one). */
const loadYauzl = lazyImport(async () => (await import('yauzl')).default);

const openZip = async (path: string) => {
  const lib = await loadYauzl();
  return new Promise<yauzl.ZipFile>((resolve, reject) =>
    // decodeStrings off: names are checked by Marina's own rules (safeEntryName), with its own message.
    lib.open(
      path,
      { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false },
      (error, zip) => (error ? reject(corrupt(error)) : resolve(zip)),
    ),
  );
};

const corrupt = (error: unknown) =>
  error instanceof ArchiveError
    ? error
    : new ArchiveError(
        'corrupt',
        `This file is a zip archive that is damaged or cut short (${(error as Error).message.replace(/\.$/, '')}): download it again. ${ACCEPTED}`,
      );

function entryName(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  // Bit 11: the name is UTF-8; otherwise CP437, whose ASCII part is what Odoo's archives use.
  return (entry.generalPurposeBitFlag & 0x800) !== 0 ? raw.toString('utf8') : raw.toString('latin1');
}

/** Checks the CRC-32 of an entry as it is read: yauzl checks sizes, not content. */
class Crc32Check extends Transform {
  private crc = 0;
  constructor(
    private readonly expected: number,
    private readonly name: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (this.crc >>> 0 !== this.expected >>> 0) {
      done(new ArchiveError('corrupt', `The archive's ${this.name} is damaged (its checksum does not match).`));
      return;
    }
    done();
  }
}

/** A zip on disk, read entry by entry (random access from its central directory), names checked first. */
export class ZipReader {
  private constructor(private readonly zip: yauzl.ZipFile) {}

  static async open(path: string): Promise<ZipReader> {
    return new ZipReader(await openZip(path));
  }

  /** Entries as the end of central directory record counts them, before any is read. */
  get entryCount(): number {
    return this.zip.entryCount;
  }

  /** Every entry in order; the handler reads (or ignores) each one before the next comes. */
  async each(handle: (info: ZipEntryInfo) => Promise<void>): Promise<void> {
    const zip = this.zip;
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        let info: ZipEntryInfo;
        try {
          const name = safeEntryName(entryName(entry));
          info = {
            name,
            size: entry.uncompressedSize,
            directory: name.endsWith('/'),
            mtime: entry.getLastModDate(),
            entry,
          };
        } catch (error) {
          reject(error);
          return;
        }
        handle(info).then(
          () => zip.readEntry(),
          (error) => reject(corrupt(error)),
        );
      });
      zip.once('end', () => resolve());
      zip.once('error', (error) => reject(corrupt(error)));
      zip.readEntry();
    });
  }

  /** An entry's content, its CRC-32 checked as it flows. */
  async stream(info: ZipEntryInfo): Promise<Readable> {
    const raw = await new Promise<Readable>((resolve, reject) =>
      this.zip.openReadStream(info.entry, (error, stream) => (error ? reject(corrupt(error)) : resolve(stream))),
    );
    const checked = new Crc32Check(info.entry.crc32, info.name);
    pipeline(raw, checked).catch((error) => checked.destroy(corrupt(error)));
    return checked;
  }

  async text(info: ZipEntryInfo, limitBytes = 1024 * 1024): Promise<string> {
    if (info.size > limitBytes)
      throw new ArchiveError('bad-manifest', `${info.name} is larger than ${limitBytes} bytes.`);
    const chunks: Buffer[] = [];
    for await (const chunk of await this.stream(info)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  close(): void {
    this.zip.close();
  }
}

/**
 * Refuses, from the central directory alone (nothing inflated yet), an archive whose declared
 * entry count, total size or compression ratios pass the limits.
 */
async function checkDeclared(path: string, limits: ArchiveLimits): Promise<void> {
  const reader = await ZipReader.open(path);
  try {
    if (reader.entryCount > limits.maxEntries)
      throw tooLarge(`The archive holds ${reader.entryCount} entries; at most ${limits.maxEntries} are accepted.`);
    let declared = 0;
    let stored = 0;
    await reader.each(async (info) => {
      declared += info.size;
      stored += info.entry.compressedSize;
      if (declared > limits.maxUncompressedBytes)
        throw tooLarge(
          `The archive inflates to more than ${gib(limits.maxUncompressedBytes)}, the import limit of this Marina.`,
        );
      if (info.size > RATIO_FLOOR_BYTES && info.size > limits.maxCompressionRatio * info.entry.compressedSize)
        throw tooLarge(
          `${info.name} inflates more than ${limits.maxCompressionRatio} times its stored size: refused as a zip bomb.`,
        );
    });
    if (declared > RATIO_FLOOR_BYTES && declared > limits.maxCompressionRatio * Math.max(stored, 1))
      throw tooLarge(
        `The archive inflates more than ${limits.maxCompressionRatio} times its size: refused as a zip bomb.`,
      );
  } finally {
    reader.close();
  }
}

/**
 * Reads a whole zip — every name checked, every entry's CRC verified — and says what it holds.
 * With limits, the central directory is checked first, then the real inflated bytes are counted
 * as they come and the read aborts the moment one passes a limit: a header that lies about sizes
 * gets no further than an honest one. An import is refused before anything is touched if this fails.
 */
export async function inspectOdooZip(
  path: string,
  limits?: ArchiveLimits,
  onBytes?: (bytes: number) => void,
): Promise<ZipSummary> {
  if (limits) await checkDeclared(path, limits);
  const reader = await ZipReader.open(path);
  const summary: ZipSummary = { entries: 0, uncompressedBytes: 0, hasDump: false, filestoreFiles: 0 };
  let storedBytes = 0;
  try {
    await reader.each(async (info) => {
      summary.entries++;
      if (limits && summary.entries > limits.maxEntries)
        throw tooLarge(`The archive holds more than ${limits.maxEntries} entries.`);
      if (info.directory) return;
      storedBytes += info.entry.compressedSize;
      if (info.name === MANIFEST) summary.manifest = await reader.text(info);
      else {
        if (info.name === DUMP_SQL) summary.hasDump = true;
        if (info.name.startsWith('filestore/')) summary.filestoreFiles++;
        const stream = await reader.stream(info);
        // psql runs backslash commands: a dump.sql that holds any is refused here, before it is kept.
        const script = info.name === DUMP_SQL ? new PsqlScriptScanner() : undefined;
        let entryBytes = 0;
        stream.on('data', (chunk: Buffer) => {
          try {
            script?.write(chunk.toString('latin1'));
          } catch (error) {
            stream.destroy(error as Error);
            return;
          }
          entryBytes += chunk.length;
          summary.uncompressedBytes += chunk.length;
          onBytes?.(summary.uncompressedBytes);
          const problem = limits && overLimit(limits, info, entryBytes, summary.uncompressedBytes, storedBytes);
          if (problem) stream.destroy(tooLarge(problem));
        });
        await new Promise<void>((resolve, reject) => {
          stream.once('end', resolve);
          stream.once('error', reject);
          stream.once('close', () => (stream.errored ? reject(stream.errored) : resolve()));
        });
        script?.end();
      }
    });
  } finally {
    reader.close();
  }
  return summary;
}

/** The limit that the bytes inflated so far pass, counted for real (headers may lie), or undefined. */
function overLimit(
  limits: ArchiveLimits,
  info: ZipEntryInfo,
  entryBytes: number,
  totalBytes: number,
  storedBytes: number,
): string | undefined {
  if (totalBytes > limits.maxUncompressedBytes)
    return `The archive inflates to more than ${gib(limits.maxUncompressedBytes)}, the import limit of this Marina.`;
  if (
    entryBytes > RATIO_FLOOR_BYTES &&
    entryBytes > limits.maxCompressionRatio * Math.max(info.entry.compressedSize, 1)
  )
    return `${info.name} inflates more than ${limits.maxCompressionRatio} times its stored size: refused as a zip bomb.`;
  if (totalBytes > RATIO_FLOOR_BYTES && totalBytes > limits.maxCompressionRatio * Math.max(storedBytes, 1))
    return `The archive inflates more than ${limits.maxCompressionRatio} times its size: refused as a zip bomb.`;
  return undefined;
}
