import { Writable } from 'node:stream';

/**
 * Odoo names a filestore file after the sha1 of its content: `ab/ab12…` (40 hex digits, the first
 * two as its folder). A file whose content still hashes to its name can stand in for any other
 * file of that name — which lets a restore hard-link what the instance already has.
 */
export const FILESTORE_FILE = /^([0-9a-f]{2})\/(\1[0-9a-f]{38})$/;

const SHA1_BYTES = 20;
const HEX_SHA1 = /^[0-9a-f]{40}$/;

/** A set of sha1s held as one sorted buffer (20 bytes each): a million files take 20 MB, not 100. */
export class Sha1Set {
  private constructor(private readonly sorted: Buffer) {}

  static readonly empty = new Sha1Set(Buffer.alloc(0));

  get size(): number {
    return this.sorted.length / SHA1_BYTES;
  }

  /** Whether a filestore name (`ab/ab12…`) is in the set. */
  hasFile(relative: string): boolean {
    const match = FILESTORE_FILE.exec(relative);
    return match?.[2] !== undefined && this.has(match[2]);
  }

  has(hex: string): boolean {
    if (!HEX_SHA1.test(hex)) return false;
    const key = Buffer.from(hex, 'hex');
    let low = 0;
    let high = this.size - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const order = this.sorted.compare(key, 0, SHA1_BYTES, middle * SHA1_BYTES, (middle + 1) * SHA1_BYTES);
      if (order === 0) return true;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }

  /**
   * A writable that reads sorted hex sha1s, one per line, and builds the set at the end. Lines that
   * are not a sha1 are ignored; a list out of order gives the empty set (a restore then simply
   * writes every file), never a set that answers wrongly.
   */
  static reader(): Writable & { result(): Sha1Set } {
    // Appended into 64 KiB pieces: a Buffer per hash would cost a hundred bytes of bookkeeping each.
    const PIECE = 3_276 * SHA1_BYTES;
    const pieces: Buffer[] = [];
    let piece = Buffer.allocUnsafe(PIECE);
    let used = 0;
    let carry = '';
    const previous = Buffer.alloc(SHA1_BYTES);
    let any = false;
    let ordered = true;
    const line = (text: string) => {
      if (!ordered || !HEX_SHA1.test(text)) return;
      const hash = Buffer.from(text, 'hex');
      const order = any ? previous.compare(hash) : -1;
      if (order > 0) ordered = false;
      if (order >= 0) return;
      if (used === PIECE) {
        pieces.push(piece);
        piece = Buffer.allocUnsafe(PIECE);
        used = 0;
      }
      hash.copy(piece, used);
      hash.copy(previous);
      used += SHA1_BYTES;
      any = true;
    };
    const writable = new Writable({
      write(chunk: Buffer, _encoding, next) {
        const lines = (carry + chunk.toString('latin1')).split('\n');
        carry = lines.pop() ?? '';
        for (const text of lines) line(text.trim());
        next();
      },
      final(done) {
        line(carry.trim());
        carry = '';
        done();
      },
    });
    return Object.assign(writable, {
      result: () => (ordered ? new Sha1Set(Buffer.concat([...pieces, piece.subarray(0, used)])) : Sha1Set.empty),
    });
  }
}
