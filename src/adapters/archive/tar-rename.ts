/**
 * A tar stream passed through with only its headers rewritten: the files of a folder Docker's
 * archive API sends ("<folder>/ab/…") become entries of a backup ("filestore/ab/…") without being
 * unpacked and packed again. Content bytes are forwarded as slices of the chunks they came in; only
 * the 512-byte headers are read and written. What is not a regular file is dropped, as the backup
 * keeps files only.
 */
import { Transform, type TransformCallback } from 'node:stream';

const BLOCK = 512;
/** tar ends with two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
/** Extended headers (PAX, GNU long names) are small; a larger one is not a tar Marina reads. */
const MAX_EXTENDED = 1024 * 1024;
/** The largest size ustar's 11 octal digits hold; larger files get a PAX size record. */
const USTAR_MAX_SIZE = 8 ** 11 - 1;

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function octal(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  // GNU base-256: the high bit of the first byte set, the rest big-endian.
  if (field[0] !== undefined && field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const digits = field.toString('ascii').replace(/\0.*$/s, '').trim();
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) throw new Error(`not a tar header: ${JSON.stringify(digits)} is not a number`);
  return Number.parseInt(digits, 8);
}

/** tar's checksum: the header's bytes summed, its own field counted as spaces. */
function headerSum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  return sum;
}

const checksumOk = (block: Buffer): boolean => headerSum(block) === octal(block, 148, 8);

/** PAX records: "<length> <key>=<value>\n", each length counting the whole record. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length && data[at] !== 0) {
    const space = data.indexOf(0x20, at);
    const length = Number.parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (space === -1 || !Number.isInteger(length) || length <= 0 || at + length > data.length)
      throw new Error('not a tar header: a PAX record is cut');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body);
  // The length counts its own digits.
  while (String(length).length + Buffer.byteLength(body) !== length)
    length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

function writeOctal(block: Buffer, start: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, start, length, 'ascii');
}

function ustarHeader(fields: { name: string; prefix?: string; size: number; mtime: number; type: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, 0o600);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, Math.min(fields.size, USTAR_MAX_SIZE));
  writeOctal(block, 136, 12, Math.max(0, Math.min(Math.floor(fields.mtime), 8 ** 11 - 1)));
  block.write(fields.type, 156, 1, 'ascii');
  block.write('ustar\u000000', 257, 8, 'ascii');
  if (fields.prefix) block.write(fields.prefix, 345, 155, 'utf8');
  block.write(`${headerSum(block).toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

/**
 * The header (one block, or a PAX header and then one) of a regular file: mode 0600, owned by uid 0,
 * as every entry Marina writes. Names longer than ustar holds, and sizes over 8 GiB, go in PAX records.
 */
export function fileHeader(name: string, size: number, mtime: Date | number = 0): Buffer {
  const seconds = typeof mtime === 'number' ? mtime : Math.floor(mtime.getTime() / 1000);
  const bytes = Buffer.byteLength(name);
  let split = -1;
  if (bytes > 100) {
    // ustar's prefix holds up to 155 bytes before a '/', the name field the 100 after it.
    for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1))
      if (Buffer.byteLength(name.slice(0, i)) <= 155 && Buffer.byteLength(name.slice(i + 1)) <= 100) {
        split = i;
        break;
      }
  }
  const needsPax = (bytes > 100 && split === -1) || size > USTAR_MAX_SIZE;
  if (!needsPax) {
    return split === -1
      ? ustarHeader({ name, size, mtime: seconds, type: '0' })
      : ustarHeader({ name: name.slice(split + 1), prefix: name.slice(0, split), size, mtime: seconds, type: '0' });
  }
  let records = '';
  if (bytes > 100 && split === -1) records += paxRecord('path', name);
  if (size > USTAR_MAX_SIZE) records += paxRecord('size', String(size));
  const data = Buffer.from(records);
  const pax = ustarHeader({ name: 'PaxHeader', size: data.length, mtime: seconds, type: 'x' });
  const short = Buffer.from(name)
    .subarray(-100)
    .toString('utf8')
    .replace(/^[^/]*\//, '');
  return Buffer.concat([
    pax,
    data,
    Buffer.alloc(padded(data.length) - data.length),
    ustarHeader({ name: short, size, mtime: seconds, type: '0' }),
  ]);
}

/** One whole file entry (header, content, padding), for the small files Marina adds itself. */
export function fileEntry(name: string, content: Buffer, mtime: Date | number = Date.now() / 1000): Buffer {
  return Buffer.concat([
    fileHeader(name, content.length, mtime),
    content,
    Buffer.alloc(padded(content.length) - content.length),
  ]);
}

export interface RenameOptions {
  /** The new name of an entry from its old one; undefined drops the entry. */
  rename: (name: string) => string | undefined;
  /** Bytes written before the first entry (entries Marina adds, such as the manifest). */
  prelude?: Buffer;
  /** Whether the output ends the archive (tar's end blocks); otherwise another part follows. */
  last: boolean;
}

type State =
  | { kind: 'header' }
  | { kind: 'content'; left: number; keep: boolean }
  | { kind: 'extended'; left: number; type: string; data: Buffer[] }
  | { kind: 'ended' };

/** The rewriting pass-through (see the file's comment). */
export function renameTarEntries(options: RenameOptions): Transform {
  let held: Buffer = Buffer.alloc(0);
  let state: State = { kind: 'header' };
  /** What the extended headers just read say of the next entry. */
  let pending: { path?: string; size?: number } = {};
  let started = false;
  let input = false;

  function header(block: Buffer, push: (b: Buffer) => void): void {
    if (block.every((byte) => byte === 0)) {
      state = { kind: 'ended' };
      return;
    }
    if (!checksumOk(block)) throw new Error('not a tar header: its checksum does not match');
    const type = block[156] === 0 ? '0' : String.fromCharCode(block[156] ?? 0x30);
    const stated = octal(block, 124, 12);
    if (type === 'x' || type === 'L' || type === 'g') {
      // An extended header's own size is its block's; a PAX size read before applies to the entry.
      if (stated > MAX_EXTENDED) throw new Error('not a tar Marina reads: an extended header over 1 MiB');
      state = stated === 0 ? { kind: 'header' } : { kind: 'extended', left: padded(stated), type, data: [] };
      return;
    }
    const size = pending.size ?? stated;
    // POSIX ustar has a name prefix; GNU's "ustar  " keeps other fields there.
    const posix = block.subarray(257, 262).toString('ascii') === 'ustar' && block[262] === 0;
    const prefix = posix ? text(block, 345, 155) : '';
    const name = pending.path ?? (prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100));
    pending = {};
    const regular = type === '0' || type === '7';
    const renamed = regular ? options.rename(name) : undefined;
    if (renamed !== undefined) push(fileHeader(renamed, size, octal(block, 136, 12)));
    state = { kind: 'content', left: padded(size), keep: renamed !== undefined };
  }

  function extended(data: Buffer, type: string): void {
    if (type === 'L') pending.path = text(data, 0, data.length);
    if (type !== 'x') return;
    const records = paxRecords(data);
    const path = records.get('path');
    const size = records.get('size');
    if (path !== undefined) pending.path = path;
    if (size !== undefined) {
      if (!/^\d+$/.test(size)) throw new Error('not a tar header: a PAX size is not a number');
      pending.size = Number(size);
    }
  }

  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      try {
        if (!started) {
          started = true;
          if (options.prelude) this.push(options.prelude);
        }
        if (chunk.length > 0) input = true;
        let at = 0;
        const push = (b: Buffer) => this.push(b);
        while (at < chunk.length) {
          if (state.kind === 'ended') break;
          if (state.kind === 'content') {
            const take = Math.min(state.left, chunk.length - at);
            if (state.keep) this.push(chunk.subarray(at, at + take));
            state.left -= take;
            at += take;
            if (state.left === 0) state = { kind: 'header' };
            continue;
          }
          const take = Math.min(BLOCK - held.length, chunk.length - at);
          const block =
            held.length === 0 && take === BLOCK
              ? chunk.subarray(at, at + BLOCK)
              : Buffer.concat([held, chunk.subarray(at, at + take)]);
          at += take;
          if (block.length < BLOCK) {
            held = Buffer.from(block);
            continue;
          }
          held = Buffer.alloc(0);
          if (state.kind === 'header') header(block, push);
          else {
            state.data.push(Buffer.from(block));
            state.left -= BLOCK;
            if (state.left === 0) {
              extended(Buffer.concat(state.data), state.type);
              state = { kind: 'header' };
            }
          }
        }
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      if (!started && options.prelude) this.push(options.prelude);
      // No bytes at all is an empty folder; anything else must reach tar's end blocks.
      if (input && state.kind !== 'ended') return done(new Error('the tar stream is cut before its end'));
      if (options.last) this.push(END_OF_ARCHIVE);
      done();
    },
  });
}
