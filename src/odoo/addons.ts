import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

/** Addon discovery and change detection on a checkout folder. Reads files only; never runs Python. */
export interface AddonInfo {
  name: string;
  /** Relative to the scanned root, posix ('.' when the root itself is the addon). */
  path: string;
  version: string | null;
  /** The manifest's "name": the human title. */
  title: string | null;
  summary: string | null;
  author: string | null;
  application: boolean;
  installable: boolean;
}

export interface AddonScan {
  addons: AddonInfo[];
  /** addons_path entries relative to the root ('.' is the root); empty when the root itself is an addon. */
  paths: string[];
  /** The root holds __manifest__.py: its parent folder is the addons_path entry. */
  rootIsAddon: boolean;
  /** Folders with a manifest that are not addons Odoo can load, with why. */
  skipped: {
    path: string;
    reason: string;
    /** The manifest itself cannot be read (rather than a folder name Odoo ignores): Odoo would fail on it. */
    unreadable: boolean;
  }[];
}

/** Odoo's own rule for module technical names. */
export const MODULE_NAME = /^[a-z0-9_]+$/;
const MANIFEST = '__manifest__.py';
const MAX_MANIFEST_BYTES = 1024 * 1024;

export async function scanAddons(root: string): Promise<AddonScan> {
  const addons: AddonInfo[] = [];
  const skipped: AddonScan['skipped'] = [];
  const paths = new Set<string>();

  const take = async (dir: string, rel: string, name: string): Promise<void> => {
    if (!MODULE_NAME.test(name)) {
      skipped.push({
        path: rel,
        reason: `"${name}" is not a valid Odoo module name (lowercase letters, digits and "_" only).`,
        unreadable: false,
      });
      return;
    }
    let text: string;
    try {
      text = await readFile(join(dir, MANIFEST), 'utf8');
    } catch (error) {
      skipped.push({
        path: rel,
        reason: `${MANIFEST} cannot be read (${(error as Error).message}).`,
        unreadable: true,
      });
      return;
    }
    const manifest = readManifest(text);
    if (!manifest) {
      skipped.push({ path: rel, reason: `${MANIFEST} does not hold a Python dict literal.`, unreadable: true });
      return;
    }
    addons.push(addonInfo(name, rel, manifest));
  };

  if (await hasManifest(root)) {
    const name = posix.basename(root.replace(/\\/g, '/').replace(/\/+$/, ''));
    await take(root, '.', name);
    return { addons, paths: [], rootIsAddon: true, skipped };
  }
  for (const first of await subfolders(root)) {
    const firstDir = join(root, first);
    if (await hasManifest(firstDir)) {
      paths.add('.');
      await take(firstDir, first, first);
      continue;
    }
    for (const second of await subfolders(firstDir)) {
      const secondDir = join(firstDir, second);
      if (await hasManifest(secondDir)) {
        paths.add(first);
        await take(secondDir, `${first}/${second}`, second);
      }
    }
  }
  addons.sort((a, b) => compare(a.name, b.name) || compare(a.path, b.path));
  skipped.sort((a, b) => compare(a.path, b.path));
  return { addons, paths: [...paths].sort(compare), rootIsAddon: false, skipped };
}

function addonInfo(name: string, path: string, manifest: Record<string, unknown>): AddonInfo {
  const text = (key: string) => {
    const value = manifest[key];
    return typeof value === 'string' ? value : null;
  };
  const author = manifest.author;
  return {
    name,
    path,
    version: text('version'),
    title: text('name'),
    summary: text('summary'),
    author: typeof author === 'string' ? author : Array.isArray(author) ? author.map(String).join(', ') : null,
    application: manifest.application === true,
    installable: manifest.installable !== false,
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function hasManifest(dir: string): Promise<boolean> {
  try {
    const stat = await lstat(join(dir, MANIFEST));
    return stat.isFile() && stat.size <= MAX_MANIFEST_BYTES;
  } catch {
    return false;
  }
}

/** Real (not symlinked), not hidden subfolders, sorted. */
async function subfolders(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== '__pycache__')
    .map((e) => e.name)
    .sort(compare);
}

const SKIPPED_FILE = /\.(?:pyc|pyo|pot)$/;

/**
 * A sha256 per addon over its files, like click-odoo-update's addon hash: sorted relative paths and
 * contents; .git, __pycache__, *.pyc, *.pyo, *.pot and dot-files skipped; a symlink counts as its
 * target text, never followed.
 */
export async function addonChecksums(root: string, addons: AddonInfo[]): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  // Addons are hashed a few at a time: most files are small, and the time goes in opening them.
  const digests = await mapLimited(addons, 8, (addon) =>
    addonChecksum(addon.path === '.' ? root : join(root, ...addon.path.split('/'))),
  );
  for (const [index, addon] of addons.entries()) {
    Object.defineProperty(sums, addon.name, {
      value: digests[index],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return sums;
}

/** Files up to this size are read at once; bigger ones stream, so memory stays bounded. */
const READ_WHOLE_BYTES = 4 * 1024 * 1024;

async function addonChecksum(dir: string): Promise<string> {
  const files = await listFiles(dir, '');
  files.sort((a, b) => compare(a.rel, b.rel));
  const hash = createHash('sha256');
  for (const file of files) {
    // Separators keep "a" + "bc" apart from "ab" + "c".
    hash.update(`${file.rel}\0${file.link ? 'link' : 'file'}\0`);
    const path = join(dir, file.rel);
    if (file.link) hash.update(await readlink(path));
    else if ((await lstat(path)).size <= READ_WHOLE_BYTES) hash.update(await readFile(path));
    else await streamInto(hash, path);
    hash.update('\0');
  }
  return hash.digest('hex');
}

async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function listFiles(dir: string, rel: string): Promise<{ rel: string; link: boolean }[]> {
  const found: { rel: string; link: boolean }[] = [];
  const entries = await readdir(rel ? join(dir, rel) : dir, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === '__pycache__') continue;
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isSymbolicLink()) found.push({ rel: path, link: true });
    else if (entry.isDirectory()) found.push(...(await listFiles(dir, path)));
    else if (entry.isFile() && !SKIPPED_FILE.test(entry.name)) found.push({ rel: path, link: false });
  }
  return found;
}

function streamInto(hash: Hash, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(file);
    stream.on('data', (chunk) => hash.update(chunk));
    stream.once('error', reject);
    stream.once('end', () => resolve());
  });
}

export function changedAddons(
  before: Record<string, string>,
  after: Record<string, string>,
): { changed: string[]; added: string[]; removed: string[] } {
  const has = (record: Record<string, string>, key: string) => Object.hasOwn(record, key);
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const name of Object.keys(after)) {
    if (!has(before, name)) added.push(name);
    else if (before[name] !== after[name]) changed.push(name);
  }
  for (const name of Object.keys(before)) if (!has(after, name)) removed.push(name);
  return { changed: changed.sort(compare), added: added.sort(compare), removed: removed.sort(compare) };
}

/** Odoo's adapt_version: '1.0' on 17.0 → '17.0.1.0'; a version already starting with the series is kept. */
export function adaptVersion(series: string, version: string): string {
  if (version === series || !version.startsWith(`${series}.`)) return `${series}.${version}`;
  return version;
}

// ---- A literal-only reader for __manifest__.py -------------------------------------------------

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
function readManifest(text: string): Record<string, unknown> | null {
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
