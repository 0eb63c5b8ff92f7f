import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkOdooLog,
  docker,
  dockerOk,
  first,
  NETWORK,
  odooEnv,
  PG,
  PG_USER,
  PREFIX,
  publishedAddress,
  query,
  ROOT,
  RUNTIME_IMAGE,
  type Run,
  STANDIN_IMAGE,
  startTestPostgres,
  tmp,
  until,
  waitExit,
} from './images-test-support.js';

startTestPostgres();

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
