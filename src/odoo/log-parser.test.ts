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
