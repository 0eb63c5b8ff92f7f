import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { ArchiveError, DUMP_SQL, MANIFEST, safeEntryName } from '../../odoo/backup-archive.js';

export interface ZipEntryInfo {
  name: string;
  size: number;
  directory: boolean;
  mtime: Date;
  entry: yauzl.Entry;
}

export interface ZipSummary {
  entries: number;
  uncompressedBytes: number;
  manifest?: string;
  hasDump: boolean;
  filestoreFiles: number;
}

const openZip = (path: string) =>
  new Promise<yauzl.ZipFile>((resolve, reject) =>
    // decodeStrings off: names are checked by Marina's own rules (safeEntryName), with its own message.
    yauzl.open(
      path,
      { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false },
      (error, zip) => (error ? reject(corrupt(error)) : resolve(zip)),
    ),
  );

const corrupt = (error: unknown) =>
  error instanceof ArchiveError
    ? error
    : new ArchiveError('corrupt', `The zip archive is damaged or not a zip file: ${(error as Error).message}.`);

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
 * Reads a whole zip once — every name checked, every entry's CRC verified — and says what it holds.
 * An import is refused before anything is touched if this fails.
 */
export async function inspectOdooZip(path: string, onBytes?: (bytes: number) => void): Promise<ZipSummary> {
  const reader = await ZipReader.open(path);
  const summary: ZipSummary = { entries: 0, uncompressedBytes: 0, hasDump: false, filestoreFiles: 0 };
  try {
    await reader.each(async (info) => {
      summary.entries++;
      if (info.directory) return;
      if (info.name === MANIFEST) summary.manifest = await reader.text(info);
      else {
        if (info.name === DUMP_SQL) summary.hasDump = true;
        if (info.name.startsWith('filestore/')) summary.filestoreFiles++;
        const stream = await reader.stream(info);
        stream.on('data', (chunk: Buffer) => {
          summary.uncompressedBytes += chunk.length;
          onBytes?.(summary.uncompressedBytes);
        });
        await new Promise<void>((resolve, reject) => {
          stream.once('end', resolve);
          stream.once('error', reject);
        });
      }
    });
  } finally {
    reader.close();
  }
  return summary;
}
