/**
 * Odoo server logs, parsed. Pure functions: no I/O here.
 *
 * Odoo formats every record as (odoo/netsvc.py, `init_logger`, same in 17.0, 18.0 and 19.0):
 *
 *     %(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s %(perf_info)s
 *
 * - `asctime` is Python's default `2026-11-21 09:00:00,123`, in the process's local time. Odoo itself
 *   sets `TZ=UTC` and calls `time.tzset()` at import (17.0: odoo/__init__.py; 18.0/19.0:
 *   odoo/_monkeypatches/__init__.py), so its timestamps are UTC whatever the container's TZ; we
 *   read them as UTC.
 * - `dbname` is the thread's database, `?` when the thread has none, and `None` when a thread
 *   had its `dbname` set to None (database manager requests): both become `null`.
 * - `perf_info` is `""` for every logger but `werkzeug` (PerfFilter is attached to that logger
 *   only), so a normal line ends with the message plus one space.
 * - werkzeug lines: `PerfFilter` sets `perf_info` to `"query_count query_time remaining_time"`
 *   (`%d %.3f %.3f`): the number of SQL queries of the request, the seconds spent in them, and the
 *   other seconds since the request entered Odoo (`time.time() - perf_t0 - query_time`, perf_t0
 *   set at the start of `Application.__call__` in odoo/http.py, query_time summed in
 *   odoo/sql_db.py `Cursor.execute`), or `- - -` when the thread handled no request. With a read
 *   replica configured (18.0+), a fourth field, the cursor mode (`-`, `ro`, `rw`, `ro->rw`), follows.
 * - With a terminal (or ODOO_PY_COLORS), levels and perf numbers carry ANSI colours: stripped
 *   before parsing (the original text is kept in `raw`).
 * - A record whose message has several lines, or that has a traceback (`exc_info`), continues on
 *   the following lines, which do not start with a timestamp. Those lines are folded into the entry.
 *
 * Lines that are not Odoo records: before the first record each is its own `plain` entry (e.g.
 * "Running as user 'root' is a security risk."). After a record, an unmatched line is folded into
 * the previous entry's `continuation`, since that is what a traceback is; stray output printed
 * by other code between records (e.g. reportlab's "Warn: Can't find .pfb for face 'Courier'") is
 * therefore shown with the record before it, never dropped.
 */

export type OdooLogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';

const LEVEL_RANK: Record<OdooLogLevel, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 };

export interface HttpRequestInfo {
  remoteAddress: string;
  method: string;
  /** As werkzeug logs it (percent-decoded), query string included. */
  path: string;
  protocol: string;
  status: number;
  /** Response size in bytes; werkzeug under Odoo logs `-` (null). */
  size: number | null;
  /** SQL queries run by the request (werkzeug perf_info); null when not logged (`-`). */
  queryCount: number | null;
  /** Milliseconds spent in SQL (perf_info `query_time`, logged in seconds). */
  sqlTimeMs: number | null;
  /** Milliseconds outside SQL (perf_info `remaining_time`, logged in seconds). */
  otherTimeMs: number | null;
  /** Milliseconds from the request entering Odoo to the log line: `sqlTimeMs + otherTimeMs`. */
  totalTimeMs: number | null;
}

export interface OdooLogEntry {
  /**
   * ISO 8601 in UTC, from Odoo's timestamp. Odoo logs in the process's local time, and forces
   * TZ=UTC for itself (see the module comment); null for plain lines.
   */
  time: string | null;
  pid: number | null;
  /** null for plain-text lines (and for a record with a level name Odoo does not use). */
  level: OdooLogLevel | null;
  /** `?` and `None` → null. */
  database: string | null;
  logger: string | null;
  /**
   * The first line's message, without Odoo's trailing separator space nor werkzeug's perf_info
   * (for plain text: the whole line). ANSI colours removed.
   */
  message: string;
  /**
   * Continuation lines folded into this entry (tracebacks, multi-line messages, stray output),
   * without the first line, verbatim. When more than the bound arrived, the middle ones are
   * replaced by one marker line (see `truncated`).
   */
  continuation: string[];
  /** Continuation lines left out (0 when the entry is complete). */
  truncated: number;
  /** For werkzeug (and gevent `longpolling`) access lines. */
  http: HttpRequestInfo | null;
  /** true for lines that match no Odoo format: kept as plain text, never dropped. */
  plain: boolean;
  /** The first line exactly as read (minus a trailing `\r`): what `formatEntry` writes back. */
  raw: string;
  /** Where the first line came from, as the caller tagged it (a Docker timestamp, a file offset). */
  source?: string;
}

// Colour sequences of ColoredFormatter / ColoredPerfFilter / werkzeug's _ansi_style.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC.
const ANSI_RE = /\x1b\[[0-9;]*m/g;

const HEADER_RE =
  /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),(\d{3}) (\d+) (Level \d+|[A-Z][A-Z_]*) (\S+) (\S+):(?: (.*))?$/;

// werkzeug's WSGIRequestHandler.log_request: `ADDR - - [DATE] "REQUEST LINE" CODE SIZE`, then
// Odoo's perf_info. The request line may hold quotes (werkzeug decodes the path), so `(.*)` is
// greedy up to the last quote followed by the fixed fields.
const WERKZEUG_ACCESS_RE =
  /^(\S+) - - \[([^\]]*)\] "(.*)" (\d{3}) (\d+|-)(?: (\d+|-) (\d+(?:\.\d+)?|-) (\d+(?:\.\d+)?|-)(?: (\S+))?)? ?$/;
// perf_info at the end of a werkzeug line that is not an access line (errors): `- - -` mostly.
const WERKZEUG_PERF_RE = /^(.*) (?:\d+|-) (?:\d+(?:\.\d+)?|-) (?:\d+(?:\.\d+)?|-)$/;
// gevent's WSGIHandler.format_request, logged by Odoo's gevent server on the `longpolling` logger:
// `ADDR - - [DATE] "REQUEST LINE" STATUS LENGTH SECONDS`.
const GEVENT_ACCESS_RE = /^(\S+) - - \[([^\]]*)\] "(.*)" (\d{3}) (\d+|-) (\d+(?:\.\d+)?|-)$/;

function levelOf(token: string): OdooLogLevel | null {
  if (Object.hasOwn(LEVEL_RANK, token)) return token as OdooLogLevel;
  const custom = /^Level (\d+)$/.exec(token);
  if (!custom) return null; // e.g. NOTSET, or a name registered with logging.addLevelName
  const n = Number(custom[1]);
  return n < 20 ? 'DEBUG' : n < 30 ? 'INFO' : n < 40 ? 'WARNING' : n < 50 ? 'ERROR' : 'CRITICAL';
}

function isoTime(date: string, time: string, millis: string): string | null {
  const iso = `${date}T${time}.${millis}Z`;
  const parsed = new Date(iso);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString() === iso ? iso : null;
}

/** Seconds as logged (`0.031`, `0.001234`) to milliseconds, without float noise. */
function millis(seconds: string | undefined): number | null {
  if (seconds === undefined || seconds === '-') return null;
  return Math.round(Number.parseFloat(seconds) * 1e6) / 1e3;
}

function count(value: string | undefined): number | null {
  return value === undefined || value === '-' ? null : Number.parseInt(value, 10);
}

function splitRequestLine(requestLine: string): { method: string; path: string; protocol: string } {
  const full = /^(\S+) (.*) (HTTP\/\S+)$/.exec(requestLine);
  if (full) return { method: full[1] ?? '', path: full[2] ?? '', protocol: full[3] ?? '' };
  const short = /^(\S+) (\S+)$/.exec(requestLine); // HTTP/0.9
  if (short) return { method: short[1] ?? '', path: short[2] ?? '', protocol: '' };
  return { method: '', path: requestLine, protocol: '' }; // a bad request line, logged as received
}

function parseMessage(logger: string, text: string): { message: string; http: HttpRequestInfo | null } {
  if (logger === 'werkzeug') {
    const m = WERKZEUG_ACCESS_RE.exec(text);
    if (m) {
      const [, remoteAddress = '', date = '', requestLine = '', status = '', size = '-'] = m;
      const sqlTimeMs = millis(m[7]);
      const otherTimeMs = millis(m[8]);
      return {
        message: `${remoteAddress} - - [${date}] "${requestLine}" ${status} ${size}`,
        http: {
          remoteAddress,
          ...splitRequestLine(requestLine),
          status: Number(status),
          size: count(size),
          queryCount: count(m[6]),
          sqlTimeMs,
          otherTimeMs,
          totalTimeMs:
            sqlTimeMs === null || otherTimeMs === null ? null : Math.round((sqlTimeMs + otherTimeMs) * 1e3) / 1e3,
        },
      };
    }
    const perf = WERKZEUG_PERF_RE.exec(text);
    if (perf) return { message: perf[1] ?? '', http: null };
  }
  const message = text.endsWith(' ') ? text.slice(0, -1) : text; // the space before an empty perf_info
  if (logger === 'longpolling') {
    const m = GEVENT_ACCESS_RE.exec(message);
    if (m) {
      const [, remoteAddress = '', , requestLine = '', status = '', size = '-'] = m;
      return {
        message,
        http: {
          remoteAddress,
          ...splitRequestLine(requestLine),
          status: Number(status),
          size: count(size),
          queryCount: null,
          sqlTimeMs: null,
          otherTimeMs: null,
          totalTimeMs: millis(m[6]),
        },
      };
    }
  }
  return { message, http: null };
}

function withoutCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * The entry a line starts, or null when the line does not start an Odoo record (a continuation,
 * or plain text when no record came before: `OdooLogParser` decides).
 */
export function parseLine(line: string): OdooLogEntry | null {
  const raw = withoutCr(line);
  const m = HEADER_RE.exec(raw.replace(ANSI_RE, ''));
  if (!m) return null;
  const [, date = '', time = '', ms = '', pid = '', level = '', database = '', logger = '', text = ''] = m;
  return {
    time: isoTime(date, time, ms),
    pid: Number.parseInt(pid, 10),
    level: levelOf(level),
    database: database === '?' || database === 'None' ? null : database,
    logger,
    ...parseMessage(logger, text),
    continuation: [],
    truncated: 0,
    plain: false,
    raw,
  };
}

function plainEntry(line: string): OdooLogEntry {
  const raw = withoutCr(line);
  return {
    time: null,
    pid: null,
    level: null,
    database: null,
    logger: null,
    message: raw.replace(ANSI_RE, ''),
    continuation: [],
    truncated: 0,
    http: null,
    plain: true,
    raw,
  };
}

export interface OdooLogParserOptions {
  /** Continuation lines an entry keeps (default 500): the first 4/5 and the last 1/5 of them. */
  maxContinuationLines?: number;
}

export const DEFAULT_MAX_CONTINUATION_LINES = 500;

/**
 * Streaming: feed lines one at a time (a string holding several `\n`-separated lines is split;
 * a trailing `\r` is dropped); complete entries come out when the next entry starts, or on
 * `flush()` (end of input: the parser then starts afresh).
 *
 * Bounded: an entry keeps at most `maxContinuationLines` continuation lines, the first ones and
 * the last ones (a traceback's last line names the exception), with one marker line in place of
 * those left out, counted in `truncated`.
 */
export class OdooLogParser {
  readonly #headLimit: number;
  readonly #tailLimit: number;
  #current: OdooLogEntry | null = null;
  /** Ring buffer of the last continuation lines once the head is full. */
  #tail: string[] = [];
  #tailStart = 0;
  #dropped = 0;

  constructor(options: OdooLogParserOptions = {}) {
    const max = Math.max(0, Math.floor(options.maxContinuationLines ?? DEFAULT_MAX_CONTINUATION_LINES));
    this.#tailLimit = Math.floor(max / 5);
    this.#headLimit = max - this.#tailLimit;
  }

  /** `source` tags the entry this line starts (a Docker timestamp, a file offset): it becomes its id. */
  push(line: string, source?: string): OdooLogEntry[] {
    const out: OdooLogEntry[] = [];
    for (const one of line.includes('\n') ? line.split('\n') : [line]) this.#pushOne(one, out, source);
    return out;
  }

  /** The entry still open for continuation lines, if any (not to be changed). */
  get pending(): Readonly<OdooLogEntry> | null {
    return this.#current;
  }

  flush(): OdooLogEntry[] {
    const out: OdooLogEntry[] = [];
    this.#finish(out);
    return out;
  }

  #pushOne(line: string, out: OdooLogEntry[], source: string | undefined): void {
    const entry = parseLine(line);
    if (entry) {
      this.#finish(out);
      this.#current = source === undefined ? entry : { ...entry, source };
    } else if (this.#current) {
      this.#continue(withoutCr(line));
    } else {
      this.#finish(out);
      const plain = plainEntry(line);
      out.push(source === undefined ? plain : { ...plain, source });
    }
  }

  #continue(line: string): void {
    const current = this.#current;
    if (!current) return;
    if (current.continuation.length < this.#headLimit) {
      current.continuation.push(line);
    } else if (this.#tailLimit === 0) {
      this.#dropped++;
    } else if (this.#tail.length < this.#tailLimit) {
      this.#tail.push(line);
    } else {
      this.#tail[this.#tailStart] = line;
      this.#tailStart = (this.#tailStart + 1) % this.#tailLimit;
      this.#dropped++;
    }
  }

  #finish(out: OdooLogEntry[]): void {
    const current = this.#current;
    if (!current) return;
    if (this.#dropped > 0) {
      current.truncated = this.#dropped;
      current.continuation.push(
        `[... ${this.#dropped} line(s) left out by Marina: an entry keeps at most ${this.#headLimit + this.#tailLimit} continuation lines ...]`,
      );
    }
    current.continuation.push(...this.#tail.slice(this.#tailStart), ...this.#tail.slice(0, this.#tailStart));
    out.push(current);
    this.#current = null;
    this.#tail = [];
    this.#tailStart = 0;
    this.#dropped = 0;
  }
}

/** A whole log text; a final newline ends the last line (it does not start an empty one). */
export function parseOdooLog(text: string, options?: OdooLogParserOptions): OdooLogEntry[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const parser = new OdooLogParser(options);
  const entries: OdooLogEntry[] = [];
  for (const line of lines) entries.push(...parser.push(line));
  entries.push(...parser.flush());
  return entries;
}

/**
 * Whether an entry is at least as severe as `minimum`. Plain lines (and records with a level
 * Odoo does not name) count as INFO: they pass only when `minimum` is DEBUG or INFO, so an
 * "errors only" view is not cluttered with stray output (a traceback is part of its ERROR entry).
 */
export function levelAtLeast(entry: OdooLogEntry, minimum: OdooLogLevel): boolean {
  return LEVEL_RANK[entry.level ?? 'INFO'] >= LEVEL_RANK[minimum];
}

/** Case-insensitive substring search in the message, continuation lines, logger and database. */
export function matchesQuery(entry: OdooLogEntry, q: string): boolean {
  const needle = q.toLowerCase();
  if (needle === '') return true;
  const has = (text: string | null) => text?.toLowerCase().includes(needle) ?? false;
  return has(entry.message) || has(entry.logger) || has(entry.database) || entry.continuation.some(has);
}

/**
 * The entry as text lines (for downloads), joined with `\n`, without a final newline: the
 * original text, exactly, unless continuation lines were left out (then the marker line stands
 * in for them).
 */
export function formatEntry(entry: OdooLogEntry): string {
  return entry.continuation.length === 0 ? entry.raw : `${entry.raw}\n${entry.continuation.join('\n')}`;
}
