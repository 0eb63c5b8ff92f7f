/**
 * Just enough of the zip format to look inside a backup before uploading it: the entry names and
 * manifest.json, read from the end of the file (the central directory), never the whole file.
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
  const summary: ZipSummary = { manifest: null, hasDump: false, filestoreFiles: 0, entries: 0 };
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
    else if (name === 'manifest.json') manifestEntry = { method, compressed, local };
    else if (name.startsWith('filestore/') && !name.endsWith('/')) summary.filestoreFiles++;
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
