/**
 * The Docker test images, exercised for real through the Docker CLI (argument arrays, no shell):
 * marina-test/postgres:15, marina-test/odoo-standin (Marina's Odoo stand-in, not Odoo) and
 * marina-test/odoo-runtime with a real Odoo source tree when ODOO_SOURCE is set.
 * The images are built beforehand by scripts/build-test-images.sh (a no-op when cached).
 * Everything this file creates is named with PREFIX and removed in afterAll.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const POSTGRES_IMAGE = 'marina-test/postgres:15';
const STANDIN_IMAGE = 'marina-test/odoo-standin';
const RUNTIME_IMAGE = 'marina-test/odoo-runtime';
const PREFIX = `marina-imgtest-${process.pid}-${Date.now().toString(36)}`;
const NETWORK = `${PREFIX}-net`;
const PG = `${PREFIX}-pg`;
const PG_USER = 'odoo';
const PG_PASSWORD = 'Pg-test-password-1';
const PG_DB = 'marina_pg_test';
const ODOO_SOURCE = process.env.ODOO_SOURCE;

/** Odoo's log line: `2026-11-21 11:42:09,226 9664 INFO lab17 odoo.modules.loading: message`. */
const ODOO_LOG_LINE =
  /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) (\d+) (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+) ([\w.]+): (.*)$/;
/** werkzeug's access line inside it: `127.0.0.1 - - [21/Nov/2026 11:42:09] "GET /web/health HTTP/1.1" 200 - 20 0.031 0.095`. */
const WERKZEUG_MESSAGE =
  /^(\S+) - - \[(\d{2}\/\w{3}\/\d{4} \d{2}:\d{2}:\d{2})\] "(\w+) (\S+) HTTP\/[\d.]+" (\d{3}) - (\d+) ([\d.]+) ([\d.]+)$/;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `docker ...args`; never throws, returns the exit code and output. */
function docker(args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((done) => {
    execFile('docker', args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Runs `docker ...args` and fails the test with its output when it exits non-zero. */
async function dockerOk(args: string[], timeoutMs?: number): Promise<Run> {
  const run = await docker(args, timeoutMs);
  if (run.code !== 0) {
    throw new Error(`docker ${args.join(' ')} exited ${run.code}\n${run.stdout}\n${run.stderr}`);
  }
  return run;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
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
async function publishedAddress(container: string, port: string): Promise<string> {
  const { stdout } = await dockerOk(['port', container, port]);
  const address = stdout.split('\n').find((line) => line.startsWith('127.0.0.1:'));
  if (!address) throw new Error(`${container} ${port} is not published on 127.0.0.1: ${stdout}`);
  return address.trim();
}

/** Waits until a container has exited and returns its exit code. */
async function waitExit(container: string, timeoutMs = 120_000): Promise<number> {
  const { stdout } = await dockerOk(['wait', container], timeoutMs);
  return Number(stdout.trim());
}

/** The `docker run` arguments that put a container from an Odoo-contract image next to PG. */
function odooEnv(): string[] {
  return ['--network', NETWORK, '-e', `HOST=${PG}`, '-e', `USER=${PG_USER}`, '-e', `PASSWORD=${PG_PASSWORD}`];
}

let pgPort = 0;
let tmp = '';

async function query<T extends pg.QueryResultRow>(database: string, text: string, values?: unknown[]): Promise<T[]> {
  const client = new pg.Client({ host: '127.0.0.1', port: pgPort, user: PG_USER, password: PG_PASSWORD, database });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** The first row (or item); fails the test when there is none. */
function first<T>(items: T[], what: string): T {
  const item = items[0];
  if (item === undefined) throw new Error(`expected at least one ${what}`);
  return item;
}

function checkOdooLog(log: string): { lines: string[]; werkzeug: RegExpMatchArray[] } {
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

async function removeEverything() {
  const containers = await docker(['ps', '-aq', '--filter', `name=${PREFIX}`]);
  const ids = containers.stdout.split('\n').filter(Boolean);
  if (ids.length) await docker(['rm', '-fv', ...ids]);
  const networks = await docker(['network', 'ls', '-q', '--filter', `name=${PREFIX}`]);
  for (const id of networks.stdout.split('\n').filter(Boolean)) await docker(['network', 'rm', id]);
  const volumes = await docker(['volume', 'ls', '-q', '--filter', `name=${PREFIX}`]);
  const names = volumes.stdout.split('\n').filter(Boolean);
  if (names.length) await docker(['volume', 'rm', '-f', ...names]);
}

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

describe('marina-test/postgres:15', () => {
  /** psql from a second container on the same user-defined network. */
  function psql(password: string, sqlText: string): Promise<Run> {
    return docker([
      'run',
      '--rm',
      '--name',
      `${PREFIX}-psql-${Math.random().toString(36).slice(2, 8)}`,
      '--network',
      NETWORK,
      '-e',
      `PGPASSWORD=${password}`,
      POSTGRES_IMAGE,
      'psql',
      '-h',
      PG,
      '-U',
      PG_USER,
      '-d',
      PG_DB,
      '-Atc',
      sqlText,
    ]);
  }

  it('creates POSTGRES_USER and POSTGRES_DB and answers psql from another container', async () => {
    const run = await psql(
      PG_PASSWORD,
      'SELECT current_user, current_database(), rolsuper FROM pg_roles WHERE rolname = current_user',
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(`${PG_USER}|${PG_DB}|t`);
  });

  it('enforces password authentication (scram-sha-256) for host connections', async () => {
    const wrong = await psql('not-the-password', 'SELECT 1');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(`password authentication failed for user "${PG_USER}"`);
    const rows = await query<{ rolpassword: string }>(PG_DB, 'SELECT rolpassword FROM pg_authid WHERE rolname = $1', [
      PG_USER,
    ]);
    expect(first(rows, 'role').rolpassword).toMatch(/^SCRAM-SHA-256\$/);
    const hba = await dockerOk(['exec', PG, 'tail', '-n', '1', '/var/lib/postgresql/data/pg_hba.conf']);
    expect(hba.stdout.trim()).toBe('host all all all scram-sha-256');
  });

  it('runs as the postgres user, keeps PGDATA in /var/lib/postgresql/data, carries the client tools', async () => {
    const run = await dockerOk([
      'exec',
      PG,
      'bash',
      '-c',
      'id -un; ps -o user= -p 1 2>/dev/null || stat -c %U /proc/1; cat "$PGDATA/PG_VERSION"; pg_dump --version; psql --version; pg_isready -h 127.0.0.1',
    ]);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('root'); // docker exec runs as root; the server itself (pid 1) as postgres
    expect(lines[1]).toBe('postgres');
    expect(lines[2]).toBe('15');
    expect(lines[3]).toMatch(/^pg_dump \(PostgreSQL\) 15\./);
    expect(lines[4]).toMatch(/^psql \(PostgreSQL\) 15\./);
    expect(lines[5]).toContain('accepting connections');
  });

  it('refuses to initialise without POSTGRES_PASSWORD, like the official image', async () => {
    const run = await docker(['run', '--rm', '--name', `${PREFIX}-nopw`, POSTGRES_IMAGE]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('superuser password is not specified');
  });

  it('stops gracefully and quickly on docker stop (exit 0, data kept)', async () => {
    const name = `${PREFIX}-pgstop`;
    await dockerOk([
      'run',
      '-d',
      '--name',
      name,
      '-e',
      'POSTGRES_HOST_AUTH_METHOD=trust',
      '-v',
      `${PREFIX}-pgstop:/var/lib/postgresql/data`,
      POSTGRES_IMAGE,
    ]);
    await until('the second server', 60_000, async () => {
      const run = await docker(['exec', name, 'pg_isready', '-h', '127.0.0.1', '-q']);
      return run.code === 0 ? true : undefined;
    });
    // an open session must not delay the stop (fast shutdown disconnects it)
    await dockerOk(['exec', '-d', name, 'psql', '-U', 'postgres', '-h', '127.0.0.1', '-c', 'SELECT pg_sleep(60)']);
    const started = Date.now();
    await dockerOk(['stop', '-t', '30', name]);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await waitExit(name)).toBe(0);
    const logs = await dockerOk(['logs', name]);
    expect(`${logs.stdout}${logs.stderr}`).toContain('database system is shut down');
  }, 90_000);
});

describe('marina-test/odoo-standin (a stand-in, not Odoo)', () => {
  const DATA = `${PREFIX}-standin-data`;
  const SERVER = `${PREFIX}-standin`;

  /** A one-off `odoo ...` run of the stand-in through its entrypoint; returns its output. */
  async function oneOff(args: string[], extra: string[] = []): Promise<Run> {
    const name = `${PREFIX}-oneoff-${Math.random().toString(36).slice(2, 8)}`;
    return docker([
      'run',
      '--rm',
      '--name',
      name,
      ...odooEnv(),
      '-v',
      `${DATA}:/var/lib/odoo`,
      ...extra,
      STANDIN_IMAGE,
      ...args,
    ]);
  }

  it('is named a stand-in and follows the image contract (uid 101, ports, config, volumes)', async () => {
    const version = await dockerOk([
      'run',
      '--rm',
      '--name',
      `${PREFIX}-version`,
      '--entrypoint',
      'odoo',
      STANDIN_IMAGE,
      '--version',
    ]);
    expect(version.stdout.trim()).toBe('Odoo Server 17.0 (Marina stand-in)');
    for (const image of [STANDIN_IMAGE, RUNTIME_IMAGE]) {
      const inspect = await dockerOk(['image', 'inspect', image]);
      const config = first(
        JSON.parse(inspect.stdout) as {
          Config: {
            User: string;
            ExposedPorts: Record<string, unknown>;
            Env: string[];
            Volumes: Record<string, unknown>;
          };
        }[],
        'image',
      );
      expect(config.Config.User).toBe('odoo');
      expect(Object.keys(config.Config.ExposedPorts)).toEqual(expect.arrayContaining(['8069/tcp', '8072/tcp']));
      expect(config.Config.Env).toContain('ODOO_RC=/etc/odoo/odoo.conf');
      expect(Object.keys(config.Config.Volumes).sort()).toEqual(['/mnt/extra-addons', '/var/lib/odoo']);
      const ids = await dockerOk([
        'run',
        '--rm',
        '--name',
        `${PREFIX}-id`,
        '--entrypoint',
        'bash',
        image,
        '-c',
        'id; stat -c "%u %g" /var/lib/odoo /mnt/extra-addons /etc/odoo/odoo.conf; command -v pg_dump psql pg_isready',
      ]);
      const lines = ids.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^uid=101\(odoo\) gid=101\(odoo\)/);
      expect(lines.slice(1, 4)).toEqual(['101 101', '101 101', '101 101']);
      expect(lines.slice(4)).toHaveLength(3);
    }
  });

  it('-i base --stop-after-init creates the database, the tables Marina reads, and a filestore', async () => {
    const run = await oneOff(['odoo', '-d', 'db1', '-i', 'base', '--stop-after-init', '--without-demo=all']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('Odoo version 17.0 (Marina stand-in)');
    expect(run.stderr).toContain(`odoo: database: ${PG_USER}@${PG}:5432`);
    checkOdooLog(run.stderr);

    const modules = await query<{ name: string; state: string; latest_version: string }>(
      'db1',
      "SELECT name, state, latest_version FROM ir_module_module WHERE state = 'installed' ORDER BY name",
    );
    expect(modules).toEqual([
      { name: 'base', state: 'installed', latest_version: '17.0.1.3' },
      { name: 'web', state: 'installed', latest_version: '17.0.1.0' },
    ]);
    const params = Object.fromEntries(
      (await query<{ key: string; value: string }>('db1', 'SELECT key, value FROM ir_config_parameter')).map((r) => [
        r.key,
        r.value,
      ]),
    );
    expect(params['database.uuid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(params['database.secret']).toBeTruthy();
    expect(params['database.create_date']).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(params['web.base.url']).toBe('http://localhost:8069');
    const users = await query<{ login: string; password: string }>(
      'db1',
      'SELECT login, password FROM res_users WHERE active',
    );
    expect(users.map((u) => u.login)).toEqual(['admin']);
    expect(first(users, 'user').password).toMatch(/^\$pbkdf2-sha512\$600000\$/);
    const crons = await query<{ cron_name: string; active: boolean }>('db1', 'SELECT cron_name, active FROM ir_cron');
    expect(crons.every((c) => c.active)).toBe(true);
    expect(crons.map((c) => c.cron_name)).toContain('Base: Auto-vacuum internal data');

    const attachment = first(
      await query<{ store_fname: string; checksum: string }>('db1', 'SELECT store_fname, checksum FROM ir_attachment'),
      'attachment',
    );
    const files = await dockerOk([
      'run',
      '--rm',
      '--name',
      `${PREFIX}-ls`,
      '-v',
      `${DATA}:/var/lib/odoo`,
      '--entrypoint',
      'bash',
      STANDIN_IMAGE,
      '-c',
      'cd /var/lib/odoo/filestore/db1 && find . -type f -printf "%P %u\\n" && sha1sum "$0"',
      attachment.store_fname,
    ]);
    expect(files.stdout.trim().split('\n')).toEqual([
      `${attachment.store_fname} odoo`,
      `${attachment.checksum}  ${attachment.store_fname}`,
    ]);
  });

  it('-u bumps an installed module and fails on an unknown one', async () => {
    await query('db1', "UPDATE ir_module_module SET latest_version = '17.0.1.2' WHERE name = 'base'");
    const ok = await oneOff(['odoo', '-d', 'db1', '-u', 'base', '--stop-after-init']);
    expect(ok.code, ok.stderr).toBe(0);
    const base = first(
      await query<{ latest_version: string }>('db1', "SELECT latest_version FROM ir_module_module WHERE name = 'base'"),
      'module',
    );
    expect(base.latest_version).toBe('17.0.1.3');
    const bad = await oneOff(['odoo', '-d', 'db1', '-u', 'no_such_module', '--stop-after-init']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/ ERROR db1 odoo\.modules\.loading: .*no_such_module/);
  });

  it('serves /web/health, /web/login, /web/session/authenticate and a disabled database manager', async () => {
    const conf = join(tmp, 'standin.conf');
    await writeFile(
      conf,
      '[options]\ndb_name = db1\ndbfilter = ^db1$\nlist_db = False\nadmin_passwd = Master-pw-1\ndata_dir = /var/lib/odoo\nproxy_mode = True\n',
    );
    await chmod(conf, 0o644);
    await dockerOk([
      'run',
      '-d',
      '--name',
      SERVER,
      ...odooEnv(),
      '-p',
      '127.0.0.1::8069',
      '-v',
      `${DATA}:/var/lib/odoo`,
      '-v',
      `${conf}:/etc/odoo/odoo.conf:ro`,
      STANDIN_IMAGE,
      '--no-such-option=1',
    ]);
    const base = `http://${await publishedAddress(SERVER, '8069/tcp')}`;
    const health = await until('the stand-in to answer /web/health', 30_000, async () => {
      const res = await fetch(`${base}/web/health`);
      return res.status === 200 ? res : undefined;
    });
    expect(health.headers.get('content-type')).toBe('application/json');
    expect(await health.json()).toEqual({ status: 'pass' });

    const login = await fetch(`${base}/web/login`);
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('name="password"');

    const authenticate = (password: string) =>
      fetch(`${base}/web/session/authenticate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db: 'db1', login: 'admin', password } }),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
    const good = await authenticate('admin');
    expect(good).toMatchObject({ jsonrpc: '2.0', result: { uid: 2, db: 'db1', username: 'admin' } });
    const bad = await authenticate('wrong');
    expect(bad).toMatchObject({
      jsonrpc: '2.0',
      error: { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.AccessDenied' } },
    });

    const manager = await fetch(`${base}/web/database/manager`);
    expect(manager.status).toBe(200);
    expect(await manager.text()).toContain('The database manager has been disabled by the administrator');
    const backup = await fetch(`${base}/web/database/backup`, {
      method: 'POST',
      body: new URLSearchParams({ master_pwd: 'Master-pw-1', name: 'db1', backup_format: 'zip' }),
    });
    expect(backup.status).toBe(200); // Odoo answers errors of its database manager with a 200 HTML page
    expect(backup.headers.get('content-type')).toContain('text/html');
    expect((await fetch(`${base}/no/such/page`)).status).toBe(404);
    expect((await fetch(`${base}/web/standin/crash`)).status).toBe(500);

    const started = Date.now();
    await dockerOk(['stop', SERVER]);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await waitExit(SERVER)).toBe(0);

    const logs = (await dockerOk(['logs', SERVER])).stderr;
    const { werkzeug } = checkOdooLog(logs);
    expect(werkzeug.map((m) => `${m[3]} ${m[4]} ${m[5]}`)).toEqual(
      expect.arrayContaining([
        'GET /web/health 200',
        'GET /web/login 200',
        'POST /web/session/authenticate 200',
        'GET /web/database/manager 200',
        'GET /web/standin/crash 500',
      ]),
    );
    expect(logs).toContain('WARNING ? odoo: unknown option ignored by the stand-in: --no-such-option=1');
    expect(logs).toMatch(
      /INFO \S+ odoo\.addons\.base\.models\.res_users: Login successful for db:db1 login:admin from /,
    );
    expect(logs).toContain(
      'ERROR ? odoo.service.db: Database management functions blocked, admin disabled database listing',
    );
    expect(logs).toMatch(
      /ERROR \S+ odoo\.http: Exception during request handling\. \nTraceback \(most recent call last\):\n/,
    );
    expect(logs).toContain('odoo.service.server: Initiating shutdown');
  }, 60_000);

  it('neutralize -d deactivates mail servers and crons (but autovacuum) and flags the database', async () => {
    await query(
      'db1',
      "INSERT INTO ir_mail_server (name, smtp_host, smtp_port, active) VALUES ('Customer SMTP', 'smtp.example.com', 587, true)",
    );
    const run = await oneOff(['odoo', 'neutralize', '-d', 'db1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/INFO \S+ odoo\.cli\.neutralize: Starting db1 database neutralization/);
    expect(run.stderr).toMatch(/INFO db1 odoo\.modules\.neutralize: Neutralization finished/);
    checkOdooLog(run.stderr);
    const servers = await query<{ name: string; smtp_host: string; active: boolean }>(
      'db1',
      'SELECT name, smtp_host, active FROM ir_mail_server ORDER BY id',
    );
    // like Odoo's base/data/neutralize.sql: real servers off, an active dummy pointing nowhere
    expect(servers).toEqual([
      { name: 'Customer SMTP', smtp_host: 'smtp.example.com', active: false },
      { name: 'neutralization - disable emails', smtp_host: 'invalid', active: true },
    ]);
    const crons = await query<{ cron_name: string; active: boolean }>(
      'db1',
      'SELECT cron_name, active FROM ir_cron ORDER BY id',
    );
    expect(crons).toEqual([
      { cron_name: 'Base: Auto-vacuum internal data', active: true },
      { cron_name: 'Base: Portal Users Deletion', active: false },
    ]);
    const flag = first(
      await query<{ value: string }>(
        'db1',
        "SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'",
      ),
      'parameter',
    );
    expect(flag.value).toBe('true');
  });

  it('its log format regexes match real Odoo logs (fixtures)', async (ctx) => {
    const dir = process.env.MARINA_FIXTURES ?? resolve(ROOT, '../shared/fixtures');
    const file = join(dir, 'odoo-logs/odoo17-server.log');
    if (!existsSync(file)) {
      console.warn(`FIXTURES MISSING (${file}): real-log format check skipped`);
      ctx.skip();
      return;
    }
    const { lines, werkzeug } = checkOdooLog(await readFile(file, 'utf8'));
    expect(lines.length).toBeGreaterThan(50);
    expect(werkzeug.length).toBeGreaterThan(10);
  });

  it('its entrypoint gives up with a clear message when no PostgreSQL answers', async () => {
    const run = await docker([
      'run',
      '--rm',
      '--name',
      `${PREFIX}-nodb`,
      '--network',
      NETWORK,
      '-e',
      'HOST=no-such-host',
      '-e',
      'MARINA_WAIT_FOR_DB_TIMEOUT=2',
      STANDIN_IMAGE,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Database connection failure');
  });
});

describe('marina-test/odoo-runtime', () => {
  it('fails with a clear message when no Odoo source is mounted at /opt/odoo', async () => {
    const run = await docker([
      'run',
      '--rm',
      '--name',
      `${PREFIX}-nosrc`,
      '--entrypoint',
      'odoo',
      RUNTIME_IMAGE,
      '--version',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no Odoo source tree at /opt/odoo');
  });
});

if (!ODOO_SOURCE) console.warn('ODOO_SOURCE not set: real Odoo checks skipped');

describe.skipIf(!ODOO_SOURCE)('marina-test/odoo-runtime with real Odoo (ODOO_SOURCE)', () => {
  const DATA = `${PREFIX}-odoo-data`;
  const SERVER = `${PREFIX}-odoo`;

  it('runs real Odoo: -i base --stop-after-init, then serves /web/health', async () => {
    const source = resolve(ODOO_SOURCE ?? '');
    const init = await docker(
      [
        'run',
        '--rm',
        '--name',
        `${PREFIX}-odoo-init`,
        ...odooEnv(),
        '-v',
        `${source}:/opt/odoo:ro`,
        '-v',
        `${DATA}:/var/lib/odoo`,
        RUNTIME_IMAGE,
        'odoo',
        '-d',
        'realdb',
        '-i',
        'base',
        '--stop-after-init',
        '--without-demo=all',
      ],
      180_000,
    );
    expect(init.code, init.stderr.slice(-3000)).toBe(0);
    checkOdooLog(init.stderr);
    const modules = await query<{ name: string; latest_version: string }>(
      'realdb',
      "SELECT name, latest_version FROM ir_module_module WHERE state = 'installed' ORDER BY name",
    );
    expect(modules.map((m) => m.name)).toEqual(['base', 'web']);
    expect(first(modules, 'module').latest_version).toMatch(/^17\.0\./);
    const admin = first(
      await query<{ login: string }>('realdb', "SELECT login FROM res_users WHERE login = 'admin'"),
      'user',
    );
    expect(admin.login).toBe('admin');

    const conf = join(tmp, 'real.conf');
    await writeFile(
      conf,
      '[options]\naddons_path = /mnt/extra-addons\ndata_dir = /var/lib/odoo\ndb_name = realdb\nlist_db = False\n',
    );
    await chmod(conf, 0o644);
    await dockerOk([
      'run',
      '-d',
      '--name',
      SERVER,
      ...odooEnv(),
      '-p',
      '127.0.0.1::8069',
      '-v',
      `${source}:/opt/odoo:ro`,
      '-v',
      `${DATA}:/var/lib/odoo`,
      '-v',
      `${conf}:/etc/odoo/odoo.conf:ro`,
      RUNTIME_IMAGE,
    ]);
    const base = `http://${await publishedAddress(SERVER, '8069/tcp')}`;
    const health = await until('real Odoo to answer /web/health', 90_000, async () => {
      const res = await fetch(`${base}/web/health`);
      return res.status === 200 ? res : undefined;
    });
    expect(await health.json()).toEqual({ status: 'pass' });
    // the stand-in mimics these two; here is the real thing
    const manager = await fetch(`${base}/web/database/manager`);
    expect(manager.status).toBe(200);
    expect(await manager.text()).toContain('The database manager has been disabled by the administrator');
    const bad = (await fetch(`${base}/web/session/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db: 'realdb', login: 'admin', password: 'x' } }),
    }).then((r) => r.json())) as Record<string, unknown>;
    expect(bad).toMatchObject({
      error: { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.AccessDenied' } },
    });

    await dockerOk(['stop', SERVER]);
    const logs = (await dockerOk(['logs', SERVER])).stderr;
    const { werkzeug } = checkOdooLog(logs);
    expect(werkzeug.map((m) => `${m[3]} ${m[4]} ${m[5]}`)).toContain('GET /web/health 200');
  }, 300_000);
});
