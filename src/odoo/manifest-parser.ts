/**
 * A literal-only reader for __manifest__.py: Odoo manifests are read without running Python.
 */

/** Manifests bigger than this are not read (nor counted as addons). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

type Token =
  | { kind: 'str'; value: string | null } // null: a string we do not read (f-strings, bytes)
  | { kind: 'num'; value: number }
  | { kind: 'name'; value: string }
  | { kind: 'op'; value: string };

const MAX_DEPTH = 32;

/**
 * Reads a manifest's literal fields WITHOUT executing Python: strings (' " and triple quotes,
 * prefixes, escapes, implicit concatenation), True/False/None, numbers, lists, tuples and nested
 * dicts. A key whose value is anything else (a call, an operator, a name) is skipped.
 */
export function parseManifest(text: string): Record<string, unknown> {
  return readManifest(text) ?? {};
}

/** The manifest's literal fields, or null when the text holds no readable dict at all. */
export function readManifest(text: string): Record<string, unknown> | null {
  const tokens = tokenize(text.slice(0, MAX_MANIFEST_BYTES));
  const start = tokens.findIndex((t) => t.kind === 'op' && t.value === '{');
  if (start === -1) return null;
  const result = new Parser(tokens, start).dict(0);
  return result.ok && isRecord(result.value) ? result.value : null;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

type Parsed = { ok: true; value: unknown } | { ok: false };
const FAIL: Parsed = { ok: false };

class Parser {
  constructor(
    private readonly tokens: Token[],
    private pos: number,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private isOp(value: string, token = this.peek()): boolean {
    return token?.kind === 'op' && token.value === value;
  }

  value(depth: number): Parsed {
    if (depth > MAX_DEPTH) return FAIL;
    const token = this.peek();
    if (!token) return FAIL;
    if (token.kind === 'str') {
      let text: string | null = '';
      while (this.peek()?.kind === 'str') {
        const part = (this.tokens[this.pos++] as { value: string | null }).value;
        text = text === null || part === null ? null : text + part;
      }
      return text === null ? FAIL : { ok: true, value: text };
    }
    if (token.kind === 'num') {
      this.pos++;
      return { ok: true, value: token.value };
    }
    if (token.kind === 'name') {
      this.pos++;
      if (token.value === 'True') return { ok: true, value: true };
      if (token.value === 'False') return { ok: true, value: false };
      if (token.value === 'None') return { ok: true, value: null };
      return FAIL;
    }
    if (this.isOp('-') || this.isOp('+')) {
      const sign = token.value === '-' ? -1 : 1;
      this.pos++;
      const next = this.peek();
      if (next?.kind !== 'num') return FAIL;
      this.pos++;
      return { ok: true, value: sign * next.value };
    }
    if (this.isOp('{')) return this.dict(depth);
    if (this.isOp('[')) return this.sequence(depth, ']');
    if (this.isOp('(')) return this.sequence(depth, ')');
    return FAIL;
  }

  private sequence(depth: number, close: string): Parsed {
    this.pos++;
    const items: unknown[] = [];
    let sawComma = false;
    while (!this.isOp(close)) {
      const item = this.value(depth + 1);
      if (!item.ok) return FAIL;
      items.push(item.value);
      if (this.isOp(',')) {
        sawComma = true;
        this.pos++;
      } else if (!this.isOp(close)) return FAIL;
    }
    this.pos++;
    // "('a' 'b')" is a parenthesised string, "('a',)" a tuple.
    if (close === ')' && items.length === 1 && !sawComma) return { ok: true, value: items[0] };
    return { ok: true, value: items };
  }

  dict(depth: number): Parsed {
    if (depth > MAX_DEPTH) return FAIL;
    this.pos++;
    const out: Record<string, unknown> = {};
    for (;;) {
      if (this.isOp('}')) {
        this.pos++;
        return { ok: true, value: out };
      }
      if (!this.peek()) return FAIL;
      const key = this.value(depth + 1);
      if (!this.isOp(':')) {
        if (!this.skipEntry()) return FAIL;
        continue;
      }
      this.pos++;
      const valueStart = this.pos;
      const value = this.value(depth + 1);
      if (value.ok && (this.isOp(',') || this.isOp('}'))) {
        if (key.ok && typeof key.value === 'string')
          Object.defineProperty(out, key.value, {
            value: value.value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
      } else {
        this.pos = valueStart;
        if (!this.skipEntry()) return FAIL;
        continue;
      }
      if (this.isOp(',')) this.pos++;
    }
  }

  /** Moves past the current entry to after its "," (or onto the closing "}"); false at the end of input. */
  private skipEntry(): boolean {
    let depth = 0;
    for (;;) {
      const token = this.peek();
      if (!token) return false;
      if (token.kind === 'op') {
        if (token.value === '{' || token.value === '[' || token.value === '(') depth++;
        else if (token.value === '}' || token.value === ']' || token.value === ')') {
          if (depth === 0) return token.value === '}';
          depth--;
        } else if (token.value === ',' && depth === 0) {
          this.pos++;
          return true;
        }
      }
      this.pos++;
    }
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const prefix = /^[rRbBuUfF]{0,2}(?=['"])/.exec(text.slice(i, i + 3));
    if (prefix && (c === "'" || c === '"' || prefix[0].length > 0)) {
      const flags = prefix[0].toLowerCase();
      if (/^(?:r|u|b|f|rb|br|rf|fr)?$/.test(flags)) {
        const read = readString(text, i + prefix[0].length, flags.includes('r'));
        const unread = flags.includes('b') || flags.includes('f');
        tokens.push({ kind: 'str', value: unread || read.value === null ? null : read.value });
        i = read.end;
        continue;
      }
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(text[j] as string)) j++;
      tokens.push({ kind: 'name', value: text.slice(i, j) });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const match =
        /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*\.)/.exec(
          text.slice(i, i + 64),
        );
      const raw = match?.[0] ?? c;
      const clean = raw.replace(/_/g, '');
      const value = /^0[oO]/.test(clean)
        ? Number.parseInt(clean.slice(2), 8)
        : /^0[bB]/.test(clean)
          ? Number.parseInt(clean.slice(2), 2)
          : Number(clean);
      // A number glued to a name (complex "1j", "1if") is not a literal we read.
      const next = text[i + raw.length] ?? '';
      if (Number.isFinite(value) && !/[A-Za-z_]/.test(next)) tokens.push({ kind: 'num', value });
      else tokens.push({ kind: 'name', value: raw });
      i += raw.length;
      continue;
    }
    tokens.push({ kind: 'op', value: c });
    i++;
  }
  return tokens;
}

/** Reads a string literal whose quote is at `start`; value null when an escape cannot be read. */
function readString(text: string, start: number, raw: boolean): { value: string | null; end: number } {
  const quote = text[start] as string;
  const triple = text.startsWith(quote.repeat(3), start);
  const close = triple ? quote.repeat(3) : quote;
  let i = start + close.length;
  let out = '';
  let readable = true;
  while (i < text.length) {
    if (text.startsWith(close, i)) return { value: readable ? out : null, end: i + close.length };
    const c = text[i] as string;
    if (!triple && c === '\n') return { value: null, end: i };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) break;
    if (raw) {
      // A raw string keeps the backslash; it only stops the quote from closing.
      out += c + next;
      i += 2;
      continue;
    }
    if (next === '\n') {
      i += 2;
      continue;
    }
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    const hex = { x: 2, u: 4, U: 8 }[next as 'x' | 'u' | 'U'];
    if (hex) {
      const digits = text.slice(i + 2, i + 2 + hex);
      const code = /^[0-9a-fA-F]+$/.test(digits) && digits.length === hex ? Number.parseInt(digits, 16) : Number.NaN;
      if (Number.isNaN(code) || code > 0x10ffff) readable = false;
      else out += String.fromCodePoint(code);
      i += 2 + hex;
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
    if (octal) {
      out += String.fromCodePoint(Number.parseInt(octal[0], 8));
      i += 1 + octal[0].length;
      continue;
    }
    if (next === 'N') {
      // \N{NAME} needs Unicode's name table.
      readable = false;
      const end = text.indexOf('}', i);
      i = end === -1 ? i + 2 : end + 1;
      continue;
    }
    // Python keeps unknown escapes as they are.
    out += c + next;
    i += 2;
  }
  return { value: null, end: text.length };
}
