import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  formatEntry,
  levelAtLeast,
  matchesQuery,
  type OdooLogEntry,
  type OdooLogLevel,
  OdooLogParser,
  parseLine,
  parseOdooLog,
} from './log-parser.js';

const FIXTURES =
  process.env.MARINA_FIXTURES ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');
const LOGS = join(FIXTURES, 'odoo-logs');
const FILES = ['lab17-init.log', 'lab19-init.log', 'odoo17-server.log', 'odoo18-server.log'] as const;
const fixturesPresent = FILES.every((f) => existsSync(join(LOGS, f)));
if (!fixturesPresent) {
  console.warn(
    `FIXTURES MISSING: real Odoo logs not found in ${LOGS} (set MARINA_FIXTURES to the shared fixtures folder); the log-parser fixture tests are SKIPPED`,
  );
}

function read(file: string): string {
  return readFileSync(join(LOGS, file), 'utf8');
}

function levels(entries: OdooLogEntry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of entries) {
    const key = e.plain ? 'plain' : (e.level ?? 'null');
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function find(entries: OdooLogEntry[], raw: string): OdooLogEntry {
  const found = entries.find((e) => e.raw.startsWith(raw));
  if (!found) throw new Error(`no entry starts with ${raw}`);
  return found;
}

describe.skipIf(!fixturesPresent)('parsing real Odoo logs (fixtures)', () => {
  it.each(FILES)('%s: every line is accounted for exactly once, and formatEntry gives the text back', (file) => {
    const text = read(file);
    const lines = text.replace(/\n$/, '').split('\n');
    const entries = parseOdooLog(text);
    const total = entries.reduce((n, e) => n + 1 + e.continuation.length, 0);
    expect(total).toBe(lines.length);
    expect(entries.every((e) => e.truncated === 0)).toBe(true);
    expect(`${entries.map(formatEntry).join('\n')}\n`).toBe(text);
    // Every line that starts with an Odoo timestamp starts an entry, and no other line does but plain ones.
    const starts = lines.filter((l) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} /.test(l));
    expect(entries.filter((e) => !e.plain).map((e) => e.raw)).toEqual(starts);
    for (const e of entries.filter((x) => !x.plain)) {
      expect(e.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(e.pid).toBeGreaterThan(0);
      expect(e.level).not.toBeNull();
      expect(e.logger).toMatch(/^[a-z][\w.]*$/);
      expect(e.database).not.toBe('?');
      expect(e.database).not.toBe('None');
    }
  });

  it('counts entries per level in each file', () => {
    const counts = Object.fromEntries(FILES.map((f) => [f, levels(parseOdooLog(read(f)))]));
    expect(counts).toEqual({
      'lab17-init.log': { plain: 1, INFO: 114 },
      'lab19-init.log': { plain: 1, INFO: 116, WARNING: 1, CRITICAL: 1, ERROR: 1 },
      'odoo17-server.log': { INFO: 93, ERROR: 1 },
      'odoo18-server.log': { plain: 1, INFO: 16 },
    });
  });

  it('odoo17-server.log: the traceback is one ERROR entry', () => {
    const entries = parseOdooLog(read('odoo17-server.log'));
    const errors = entries.filter((e) => e.level === 'ERROR');
    expect(errors).toHaveLength(1);
    const [error] = errors;
    expect(error).toMatchObject({
      time: '2026-11-21T11:42:15.369Z',
      pid: 9664,
      database: 'lab17',
      logger: 'odoo.addons.web.controllers.database',
      message: 'Database.backup',
      http: null,
      plain: false,
    });
    expect(error?.continuation).toEqual([
      'Traceback (most recent call last):',
      '  File "/opt/odoo-17/addons/web/controllers/database.py", line 128, in backup',
      '    odoo.service.db.check_super(master_pwd)',
      '  File "/opt/odoo-17/odoo/service/db.py", line 54, in check_super',
      '    raise odoo.exceptions.AccessDenied()',
      'odoo.exceptions.AccessDenied: Access Denied',
    ]);
    // The entry after it is the next werkzeug line, untouched by the traceback.
    const next = entries[entries.indexOf(error as OdooLogEntry) + 1];
    expect(next?.http).toMatchObject({ method: 'POST', path: '/web/database/backup', status: 200, queryCount: 5 });
    expect(entries.filter((e) => e.continuation.length > 0)).toEqual([error]);
  });

  it('odoo17-server.log: werkzeug access lines', () => {
    const entries = parseOdooLog(read('odoo17-server.log'));
    expect(entries.filter((e) => e.logger === 'werkzeug' && e.http !== null)).toHaveLength(21);
    expect(find(entries, '2026-11-21 11:42:09,827 9664 INFO lab17 werkzeug:')).toMatchObject({
      time: '2026-11-21T11:42:09.827Z',
      database: 'lab17',
      logger: 'werkzeug',
      message: '127.0.0.1 - - [21/Nov/2026 11:42:09] "GET /web/health HTTP/1.1" 200 -',
      http: {
        remoteAddress: '127.0.0.1',
        method: 'GET',
        path: '/web/health',
        protocol: 'HTTP/1.1',
        status: 200,
        size: null,
        queryCount: 20,
        sqlTimeMs: 31,
        otherTimeMs: 95,
        totalTimeMs: 126,
      },
    });
    expect(find(entries, '2026-11-21 11:42:10,139 ').http).toMatchObject({
      method: 'GET',
      path: '/web/login?db=lab17',
      status: 200,
      queryCount: 5,
      sqlTimeMs: 9,
      totalTimeMs: 47,
    });
    expect(find(entries, '2026-11-21 11:42:26,614 ')).toMatchObject({
      database: null, // logged as None
      http: { method: 'POST', path: '/web/database/duplicate', status: 303, queryCount: 41, sqlTimeMs: 159 },
    });
    expect(find(entries, '2026-11-21 11:42:26,614 ').http?.totalTimeMs).toBe(1205);
    expect(find(entries, '2026-11-21 11:44:03,977 ')).toMatchObject({
      database: null, // logged as ?
      http: {
        method: 'GET',
        path: '/web/login?db=clone17w1',
        status: 302,
        queryCount: 1,
        sqlTimeMs: 2,
        totalTimeMs: 19,
      },
    });
    // Only werkzeug lines carry HTTP info.
    expect(entries.filter((e) => e.http !== null).every((e) => e.logger === 'werkzeug')).toBe(true);
  });

  it('odoo17-server.log: ? and None databases, messages with colons and quotes', () => {
    const entries = parseOdooLog(read('odoo17-server.log'));
    expect(entries[0]).toEqual({
      time: '2026-11-21T11:42:09.226Z',
      pid: 9664,
      level: 'INFO',
      database: null,
      logger: 'odoo',
      message: 'Odoo version 17.0',
      continuation: [],
      truncated: 0,
      http: null,
      plain: false,
      raw: '2026-11-21 11:42:09,226 9664 INFO ? odoo: Odoo version 17.0 ',
    });
    expect(entries[3]?.message).toBe('database: odoo@127.0.0.1:5432');
    expect(find(entries, '2026-11-21 11:42:26,304 ').message).toBe(
      "ConnectionPool(used=2/count=2/max=64): Closed 2 connections to 'user=odoo password=xxx dbname=lab17 host=127.0.0.1 port=5432 application_name=odoo-9664 sslmode=prefer'",
    );
    expect(find(entries, '2026-11-21 11:44:04,595 ').message).toBe(
      'Login successful for db:clone17w1 login:admin from 127.0.0.1',
    );
    const databases = new Set(entries.map((e) => e.database));
    expect(databases).toEqual(new Set([null, 'lab17', 'lab17rest', 'lab17restd', 'lab17dupn']));
  });

  it('lab17-init.log: plain line first, stray output folded into the record before it', () => {
    const entries = parseOdooLog(read('lab17-init.log'));
    expect(entries[0]).toMatchObject({
      plain: true,
      level: null,
      time: null,
      message: "Running as user 'root' is a security risk.",
    });
    expect(entries[3]).toMatchObject({
      message: 'database: odoo@127.0.0.1:default',
      continuation: ["Warn: Can't find .pfb for face 'Courier'"],
    });
    const last = entries.at(-1);
    expect(last).toMatchObject({ logger: 'odoo.sql_db', database: 'lab17', time: '2026-11-21T11:41:58.178Z' });
    // Odoo's message itself ends with a space here; only the separator space is removed.
    expect(last?.message).toBe('ConnectionPool(used=0/count=0/max=64): Closed 1 connections ');
    expect(last?.continuation).toEqual(['', 'real\t0m15.019s', 'user\t0m9.069s', 'sys\t0m0.886s']);
  });

  it('lab19-init.log (Odoo 19): WARNING, CRITICAL and an ERROR with its traceback', () => {
    const entries = parseOdooLog(read('lab19-init.log'));
    expect(entries[1]).toMatchObject({
      level: 'WARNING',
      database: null,
      logger: 'odoo.tools.config',
      message: 'missing --http-interface/http_interface, using 0.0.0.0 by default, will change to 127.0.0.1 in 20.0',
    });
    expect(entries[3]?.message).toBe(
      "addons paths: _NamespacePath(['/opt/odoo-19/odoo/addons', '/tmp/odoo-lab/data19/addons/19.0', '/opt/odoo-19/addons'])",
    );
    expect(entries[5]).toMatchObject({
      level: 'CRITICAL',
      logger: 'odoo.modules.module',
      message: "Couldn't load module rpc",
      continuation: [],
    });
    const error = entries[6];
    expect(error).toMatchObject({
      level: 'ERROR',
      logger: 'odoo.service.server',
      message: 'Failed to load server-wide module `rpc`.',
    });
    expect(error?.continuation).toHaveLength(6);
    expect(error?.continuation[0]).toBe('Traceback (most recent call last):');
    expect(error?.continuation.at(-1)).toBe("ModuleNotFoundError: No module named 'odoo.addons.rpc'");
    expect(entries[7]).toMatchObject({ level: 'INFO', database: 'lab19', message: 'Initializing database lab19' });
    expect(entries.at(-1)?.continuation).toEqual(['odoo19 -i base (cold pyc): 12.71 s']);
    expect(levelAtLeast(entries[5] as OdooLogEntry, 'ERROR')).toBe(true);
    expect(entries.filter((e) => levelAtLeast(e, 'WARNING'))).toHaveLength(3);
    expect(entries.filter((e) => matchesQuery(e, 'modulenotfounderror'))).toEqual([error]);
  });

  it('odoo18-server.log (Odoo 18): werkzeug lines with ? and None databases', () => {
    const entries = parseOdooLog(read('odoo18-server.log'));
    const http = entries.filter((e) => e.http !== null);
    expect(http.map((e) => [e.http?.method, e.http?.path, e.http?.status, e.database])).toEqual([
      ['GET', '/web/health', 200, null],
      ['GET', '/web/health', 200, null],
      ['GET', '/web/login?db=lab18', 302, null],
      ['POST', '/web/database/backup', 200, null],
      ['POST', '/jsonrpc', 200, null],
      ['POST', '/web/database/list', 200, null],
    ]);
    expect(find(entries, '2026-11-21 11:49:32,288 ')).toMatchObject({
      time: '2026-11-21T11:49:32.288Z',
      pid: 26100,
      http: { queryCount: 3, sqlTimeMs: 6, otherTimeMs: 2527, totalTimeMs: 2533 },
    });
    expect(entries[0]?.plain).toBe(true);
  });

  it('streams: fed line by line, the parser gives the same entries as parseOdooLog', () => {
    for (const file of FILES) {
      const text = read(file);
      const parser = new OdooLogParser();
      const streamed: OdooLogEntry[] = [];
      for (const line of text.replace(/\n$/, '').split('\n')) streamed.push(...parser.push(line));
      streamed.push(...parser.flush());
      expect(streamed).toEqual(parseOdooLog(text));
    }
  });
});

describe('parseLine', () => {
  it('parses a record header, and returns null for anything else', () => {
    expect(parseLine('2026-11-21 09:00:00,123 7 DEBUG db1 odoo.sql_db: query: SELECT 1 ')).toMatchObject({
      time: '2026-11-21T09:00:00.123Z',
      pid: 7,
      level: 'DEBUG',
      database: 'db1',
      logger: 'odoo.sql_db',
      message: 'query: SELECT 1',
    });
    for (const line of [
      'Traceback (most recent call last):',
      '  File "x.py", line 1, in <module>',
      '',
      'garbage',
      '2026-11-21 09:00:00 7 INFO ? odoo: no milliseconds',
      '2026-11-21 09:00:00,123 INFO ? odoo: no pid',
    ]) {
      expect(parseLine(line)).toBeNull();
    }
  });

  it('keeps colons and quotes of the message, and dots of the logger', () => {
    const e = parseLine(
      '2026-11-21 09:00:00,123 42 WARNING my_db odoo.addons.base.models.ir_cron: Job `a: b` failed: "x: y" ',
    );
    expect(e).toMatchObject({
      level: 'WARNING',
      database: 'my_db',
      logger: 'odoo.addons.base.models.ir_cron',
      message: 'Job `a: b` failed: "x: y"',
      plain: false,
    });
    expect(parseLine('2026-11-21 09:00:00,123 42 INFO None odoo: ')?.message).toBe('');
    expect(parseLine('2026-11-21 09:00:00,123 42 INFO None odoo:')?.message).toBe('');
  });

  it('maps Python level names and numbers to the five levels', () => {
    const level = (token: string) => parseLine(`2026-11-21 09:00:00,123 1 ${token} ? odoo: x `)?.level;
    expect(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'].map(level)).toEqual([
      'DEBUG',
      'INFO',
      'WARNING',
      'ERROR',
      'CRITICAL',
    ]);
    expect(level('Level 15')).toBe('DEBUG');
    expect(level('Level 25')).toBe('INFO');
    expect(level('NOTSET')).toBeNull();
  });

  it('reads coloured lines (terminal or ODOO_PY_COLORS) and keeps the original text', () => {
    const raw =
      '2026-11-21 09:00:00,123 1 \x1b[1;31m\x1b[1;49mERROR\x1b[0m db werkzeug: 10.0.0.1 - - [21/Nov/2026 09:00:00] "GET /x HTTP/1.1" 500 - 150 \x1b[1;33m\x1b[1;49m0.200\x1b[0m 0.050';
    const e = parseLine(raw);
    expect(e).toMatchObject({
      level: 'ERROR',
      raw,
      http: { status: 500, queryCount: 150, sqlTimeMs: 200, otherTimeMs: 50, totalTimeMs: 250 },
    });
    expect(formatEntry(e as OdooLogEntry)).toBe(raw);
  });

  it('reads werkzeug lines: quotes in the path, placeholders, the replica cursor mode, errors', () => {
    const head = '2026-11-21 09:00:00,123 1 INFO db werkzeug: ';
    expect(parseLine(`${head}::1 - - [21/Nov/2026 09:00:00] "GET /a"b c HTTP/1.1" 404 - 3 0.002 0.010`)?.http).toEqual({
      remoteAddress: '::1',
      method: 'GET',
      path: '/a"b c',
      protocol: 'HTTP/1.1',
      status: 404,
      size: null,
      queryCount: 3,
      sqlTimeMs: 2,
      otherTimeMs: 10,
      totalTimeMs: 12,
    });
    const placeholders = parseLine(`${head}1.2.3.4 - - [21/Nov/2026 09:00:00] "GET / HTTP/1.0" 200 512 - - -`);
    expect(placeholders?.http).toMatchObject({ size: 512, queryCount: null, sqlTimeMs: null, totalTimeMs: null });
    expect(placeholders?.message).toBe('1.2.3.4 - - [21/Nov/2026 09:00:00] "GET / HTTP/1.0" 200 512');
    const replica = parseLine(`${head}1.2.3.4 - - [21/Nov/2026 09:00:00] "POST /json HTTP/1.1" 200 - 4 0.010 0.020 ro`);
    expect(replica?.http).toMatchObject({ queryCount: 4, sqlTimeMs: 10, totalTimeMs: 30 });
    const error = parseLine(
      "2026-11-21 09:00:00,123 1 ERROR ? werkzeug: 1.2.3.4 - - [21/Nov/2026 09:00:00] code 400, message Bad request syntax ('x') - - -",
    );
    expect(error).toMatchObject({
      level: 'ERROR',
      http: null,
      message: "1.2.3.4 - - [21/Nov/2026 09:00:00] code 400, message Bad request syntax ('x')",
    });
  });

  it("reads the gevent server's access lines (longpolling logger)", () => {
    const e = parseLine(
      '2026-11-21 09:00:00,123 1 INFO ? longpolling: 10.0.0.2 - - [2026-11-21 09:00:00] "GET /websocket HTTP/1.1" 101 - 12.345678 ',
    );
    expect(e?.http).toEqual({
      remoteAddress: '10.0.0.2',
      method: 'GET',
      path: '/websocket',
      protocol: 'HTTP/1.1',
      status: 101,
      size: null,
      queryCount: null,
      sqlTimeMs: null,
      otherTimeMs: null,
      totalTimeMs: 12345.678,
    });
  });

  it('drops a trailing carriage return (CRLF logs, e.g. docker with a TTY)', () => {
    expect(parseLine('2026-11-21 09:00:00,123 1 INFO ? odoo: hi \r')).toMatchObject({
      message: 'hi',
      raw: '2026-11-21 09:00:00,123 1 INFO ? odoo: hi ',
    });
  });
});

describe('OdooLogParser and parseOdooLog', () => {
  it('keeps plain text before any entry, one entry per line, and folds unmatched lines after one', () => {
    const text = [
      'Running as user root',
      'garbage: 1 2 3',
      '',
      '2026-11-21 09:00:00,001 1 INFO ? odoo: started ',
      'stray output',
      '2026-11-21 09:00:00,002 1 ERROR db odoo.http: boom ',
      'Traceback (most recent call last):',
      '  File "x.py", line 1, in f',
      '',
      'ValueError: x',
    ].join('\n');
    const entries = parseOdooLog(text);
    expect(entries.map((e) => [e.plain, e.level, e.message, e.continuation])).toEqual([
      [true, null, 'Running as user root', []],
      [true, null, 'garbage: 1 2 3', []],
      [true, null, '', []],
      [false, 'INFO', 'started', ['stray output']],
      [
        false,
        'ERROR',
        'boom',
        ['Traceback (most recent call last):', '  File "x.py", line 1, in f', '', 'ValueError: x'],
      ],
    ]);
    expect(entries.map(formatEntry).join('\n')).toBe(text);
    expect(parseOdooLog('')).toEqual([]);
    expect(parseOdooLog('\n')).toHaveLength(1); // one empty line
  });

  it('gives entries out when the next one starts, or on flush', () => {
    const parser = new OdooLogParser();
    expect(parser.push('2026-11-21 09:00:00,001 1 ERROR db odoo: a ')).toEqual([]);
    expect(parser.push('Traceback (most recent call last):')).toEqual([]);
    const [a] = parser.push('2026-11-21 09:00:00,002 1 INFO db odoo: b ');
    expect(a).toMatchObject({ message: 'a', continuation: ['Traceback (most recent call last):'] });
    const [b] = parser.flush();
    expect(b).toMatchObject({ message: 'b', continuation: [] });
    expect(parser.flush()).toEqual([]);
    // A chunk of several lines is split.
    const out = parser.push(
      '2026-11-21 09:00:00,003 1 INFO db odoo: c \n  detail\n2026-11-21 09:00:00,004 1 INFO db odoo: d ',
    );
    expect(out.map((e) => [e.message, e.continuation])).toEqual([['c', ['  detail']]]);
    expect(parser.flush().map((e) => e.message)).toEqual(['d']);
  });

  it('bounds continuation lines: keeps the first and the last, marks what it left out', () => {
    const frames = Array.from({ length: 10_000 }, (_, i) => `  frame ${i}`);
    const text = [
      '2026-11-21 09:00:00,001 1 ERROR db odoo: deep ',
      'Traceback (most recent call last):',
      ...frames,
      'RecursionError: maximum recursion depth exceeded',
      '2026-11-21 09:00:00,002 1 INFO db odoo: after ',
    ].join('\n');
    const [deep, after] = parseOdooLog(text);
    expect(deep?.truncated).toBe(10_002 - 500);
    expect(deep?.continuation).toHaveLength(501);
    expect(deep?.continuation[0]).toBe('Traceback (most recent call last):');
    expect(deep?.continuation[399]).toBe('  frame 398');
    expect(deep?.continuation[400]).toMatch(/^\[\.\.\. 9502 line\(s\) left out by Marina/);
    expect(deep?.continuation[401]).toBe('  frame 9901');
    expect(deep?.continuation.at(-1)).toBe('RecursionError: maximum recursion depth exceeded');
    expect(after).toMatchObject({ message: 'after', truncated: 0 });

    const small = parseOdooLog(text, { maxContinuationLines: 10 })[0];
    expect(small?.continuation).toEqual([
      'Traceback (most recent call last):',
      ...frames.slice(0, 7),
      '[... 9992 line(s) left out by Marina: an entry keeps at most 10 continuation lines ...]',
      '  frame 9999',
      'RecursionError: maximum recursion depth exceeded',
    ]);
    expect(parseOdooLog(text, { maxContinuationLines: 0 })[0]?.continuation).toHaveLength(1);
    // At the bound exactly, nothing is left out.
    const exact = parseOdooLog(text.split('\n').slice(0, 11).join('\n'), { maxContinuationLines: 10 })[0];
    expect(exact).toMatchObject({ truncated: 0 });
    expect(exact?.continuation).toHaveLength(10);
  });
});

describe('filters', () => {
  const entries = parseOdooLog(
    [
      'plain text',
      '2026-11-21 09:00:00,001 1 DEBUG ? odoo.sql_db: query ',
      '2026-11-21 09:00:00,002 1 INFO Shop odoo.modules.loading: Modules loaded. ',
      '2026-11-21 09:00:00,003 1 WARNING None odoo.models: slow ',
      '2026-11-21 09:00:00,004 1 ERROR shop odoo.http: Exception in request ',
      'Traceback (most recent call last):',
      'psycopg2.errors.UndefinedTable: relation "x" does not exist',
      '2026-11-21 09:00:00,005 1 CRITICAL ? odoo.service.server: dead ',
    ].join('\n'),
  );
  const messages = (min: OdooLogLevel) => entries.filter((e) => levelAtLeast(e, min)).map((e) => e.message);

  it('levelAtLeast: plain lines count as INFO', () => {
    expect(messages('DEBUG')).toEqual([
      'plain text',
      'query',
      'Modules loaded.',
      'slow',
      'Exception in request',
      'dead',
    ]);
    expect(messages('INFO')).toEqual(['plain text', 'Modules loaded.', 'slow', 'Exception in request', 'dead']);
    expect(messages('WARNING')).toEqual(['slow', 'Exception in request', 'dead']);
    expect(messages('ERROR')).toEqual(['Exception in request', 'dead']);
    expect(messages('CRITICAL')).toEqual(['dead']);
  });

  it('matchesQuery: case-insensitive, over message, continuation, logger and database', () => {
    const hits = (q: string) => entries.filter((e) => matchesQuery(e, q)).map((e) => e.message);
    expect(hits('UNDEFINEDTABLE')).toEqual(['Exception in request']);
    expect(hits('shop')).toEqual(['Modules loaded.', 'Exception in request']);
    expect(hits('odoo.sql')).toEqual(['query']);
    expect(hits('PLAIN')).toEqual(['plain text']);
    expect(hits('none')).toEqual([]); // `None` is no database
    expect(hits('')).toHaveLength(entries.length);
    expect(hits('nothing like this')).toEqual([]);
  });
});
