import { chmod, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkOdooLog,
  docker,
  dockerOk,
  first,
  ODOO_SOURCE,
  odooEnv,
  PREFIX,
  publishedAddress,
  query,
  RUNTIME_IMAGE,
  startTestPostgres,
  tmp,
  until,
} from './images-test-support.js';

startTestPostgres();

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
