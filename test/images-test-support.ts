import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';

/**
 * Shared by the images-*.test.ts files: the Docker test images, exercised for real through the Docker CLI (argument arrays, no shell):
 * marina-test/postgres:15, marina-test/odoo-standin (Marina's Odoo stand-in, not Odoo) and
 * marina-test/odoo-runtime with a real Odoo source tree when ODOO_SOURCE is set.
 * The images are built beforehand by scripts/build-test-images.sh (a no-op when cached).
 * Everything a test file creates is named with PREFIX and removed in afterAll.
 */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const POSTGRES_IMAGE = 'marina-test/postgres:15';
export const STANDIN_IMAGE = 'marina-test/odoo-standin';
export const RUNTIME_IMAGE = 'marina-test/odoo-runtime';
export const PREFIX = `marina-imgtest-${process.pid}-${Date.now().toString(36)}`;
export const NETWORK = `${PREFIX}-net`;
export const PG = `${PREFIX}-pg`;
export const PG_USER = 'odoo';
export const PG_PASSWORD = 'Pg-test-password-1';
export const PG_DB = 'marina_pg_test';
export const ODOO_SOURCE = process.env.ODOO_SOURCE;

/** Odoo's log line: `2026-11-21 11:42:09,226 9664 INFO lab17 odoo.modules.loading: message`. */
export const ODOO_LOG_LINE =
  /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) (\d+) (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+) ([\w.]+): (.*)$/;
/** werkzeug's access line inside it: `127.0.0.1 - - [21/Nov/2026 11:42:09] "GET /web/health HTTP/1.1" 200 - 20 0.031 0.095`. */
export const WERKZEUG_MESSAGE =
  /^(\S+) - - \[(\d{2}\/\w{3}\/\d{4} \d{2}:\d{2}:\d{2})\] "(\w+) (\S+) HTTP\/[\d.]+" (\d{3}) - (\d+) ([\d.]+) ([\d.]+)$/;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `docker ...args`; never throws, returns the exit code and output. */
export function docker(args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((done) => {
    execFile('docker', args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Runs `docker ...args` and fails the test with its output when it exits non-zero. */
export async function dockerOk(args: string[], timeoutMs?: number): Promise<Run> {
  const run = await docker(args, timeoutMs);
  if (run.code !== 0) {
    throw new Error(`docker ${args.join(' ')} exited ${run.code}\n${run.stdout}\n${run.stderr}`);
  }
  return run;
}

export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** `127.0.0.1:49153` for a container port published on loopback. */
export async function publishedAddress(container: string, port: string): Promise<string> {
  const { stdout } = await dockerOk(['port', container, port]);
  const address = stdout.split('\n').find((line) => line.startsWith('127.0.0.1:'));
  if (!address) throw new Error(`${container} ${port} is not published on 127.0.0.1: ${stdout}`);
  return address.trim();
}

/** Waits until a container has exited and returns its exit code. */
export async function waitExit(container: string, timeoutMs = 120_000): Promise<number> {
  const { stdout } = await dockerOk(['wait', container], timeoutMs);
  return Number(stdout.trim());
}

/** The `docker run` arguments that put a container from an Odoo-contract image next to PG. */
export function odooEnv(): string[] {
  return ['--network', NETWORK, '-e', `HOST=${PG}`, '-e', `USER=${PG_USER}`, '-e', `PASSWORD=${PG_PASSWORD}`];
}

export let pgPort = 0;
export let tmp = '';

export async function query<T extends pg.QueryResultRow>(
  database: string,
  text: string,
  values?: unknown[],
): Promise<T[]> {
  const client = new pg.Client({ host: '127.0.0.1', port: pgPort, user: PG_USER, password: PG_PASSWORD, database });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** The first row (or item); fails the test when there is none. */
export function first<T>(items: T[], what: string): T {
  const item = items[0];
  if (item === undefined) throw new Error(`expected at least one ${what}`);
  return item;
}

export function checkOdooLog(log: string): { lines: string[]; werkzeug: RegExpMatchArray[] } {
  const lines = log.split('\n').filter((line) => /^\d{4}-\d{2}-\d{2} /.test(line));
  for (const line of lines) expect(line).toMatch(ODOO_LOG_LINE);
  const werkzeug = lines
    .map((line) => line.match(ODOO_LOG_LINE))
    .filter((m): m is RegExpMatchArray => m !== null && m[5] === 'werkzeug')
    .map((m) => {
      const parsed = (m[6] ?? '').match(WERKZEUG_MESSAGE);
      expect(parsed, m[6]).not.toBeNull();
      return parsed as RegExpMatchArray;
    });
  return { lines, werkzeug };
}

export async function removeEverything() {
  const containers = await docker(['ps', '-aq', '--filter', `name=${PREFIX}`]);
  const ids = containers.stdout.split('\n').filter(Boolean);
  if (ids.length) await docker(['rm', '-fv', ...ids]);
  const networks = await docker(['network', 'ls', '-q', '--filter', `name=${PREFIX}`]);
  for (const id of networks.stdout.split('\n').filter(Boolean)) await docker(['network', 'rm', id]);
  const volumes = await docker(['volume', 'ls', '-q', '--filter', `name=${PREFIX}`]);
  const names = volumes.stdout.split('\n').filter(Boolean);
  if (names.length) await docker(['volume', 'rm', '-f', ...names]);
}

/** Builds the test images (a no-op when cached) and starts a PostgreSQL container on a private network; removes everything after. */
export function startTestPostgres(): void {
  beforeAll(async () => {
    // A no-op when every image is cached; a cold build takes about two minutes.
    await new Promise<void>((done, fail) => {
      execFile(
        'bash',
        [join(ROOT, 'scripts/build-test-images.sh')],
        { timeout: 15 * 60_000, maxBuffer: 256 * 1024 * 1024 },
        (error, _stdout, stderr) =>
          error ? fail(new Error(`build-test-images.sh failed:\n${stderr.slice(-4000)}`)) : done(),
      );
    });
    tmp = await mkdtemp(join(tmpdir(), 'marina-imgtest-'));
    await chmod(tmp, 0o755);
    await dockerOk(['network', 'create', '--label', 'marina.test=images', NETWORK]);
    await dockerOk([
      'run',
      '-d',
      '--name',
      PG,
      '--network',
      NETWORK,
      '-p',
      '127.0.0.1::5432',
      '-e',
      `POSTGRES_USER=${PG_USER}`,
      '-e',
      `POSTGRES_PASSWORD=${PG_PASSWORD}`,
      '-e',
      `POSTGRES_DB=${PG_DB}`,
      '-v',
      `${PREFIX}-pgdata:/var/lib/postgresql/data`,
      POSTGRES_IMAGE,
    ]);
    pgPort = Number((await publishedAddress(PG, '5432/tcp')).split(':')[1]);
    await until('PostgreSQL to accept password logins', 60_000, async () => {
      const rows = await query<{ ok: number }>(PG_DB, 'SELECT 1 AS ok');
      return rows[0]?.ok === 1 ? true : undefined;
    });
  }, 16 * 60_000);
  afterAll(async () => {
    await removeEverything();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 120_000);
}
