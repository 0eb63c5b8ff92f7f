import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  formatEntry,
  levelAtLeast,
  matchesQuery,
  type OdooLogEntry,
  OdooLogParser,
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
