import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type TestApp } from '../helpers/app.js';
import {
  docker,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../helpers/docker.js';
import { followJob } from '../helpers/jobs.js';
import { odooSource } from '../helpers/odoo.js';
import { waitForOdoo } from './odoo-session.js';

/**
 * Issue #17 against REAL Odoo 17 (ODOO_SOURCE): a .dump made the way Odoo's database manager makes
 * its "pg_dump custom format (without filestore)" backup (pg_dump --no-owner --format=c) of a real
 * Odoo 17 database is imported by Marina as a new instance, which starts and serves /web/login.
 * (Who logs in afterwards is the credentials item's; here Odoo must come up on the imported data.)
 */
const source = odooSource();

describe.skipIf(!source)('real Odoo 17: importing a .dump from the database manager', () => {
  const namespace = testNamespace();
  let t: TestApp;
  let admin: Browser;
  let baseUrl: string;
  let headers: Record<string, string>;
  let projectId: string;
  let production: { id: string; url: string; dbName: string };
  let work: string;

  beforeAll(async () => {
    await requireDocker();
    await docker.getImage(TEST_IMAGES.runtime).inspect();
    work = await mkdtemp(join(tmpdir(), 'marina-odoo-dump-'));
    ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime,
      MARINA_ODOO_17_SOURCE: source ?? '',
    }));
    projectId = (
      await as(t, admin)('POST', '/api/v1/projects', { organization: 'acme', name: 'erp', odooVersion: '17.0' })
    ).json().project.id;
    const created = await as(t, admin)('POST', '/api/v1/instances', {
      project: projectId,
      name: 'prod',
      stage: 'production',
      cpus: 1,
      memoryMb: 1024,
      adminLogin: 'owner@acme.test',
    });
    expect(created.statusCode).toBe(202);
    const { job } = await followJob(baseUrl, headers, created.json().job.id, 300_000);
    if (job.status !== 'succeeded') throw new Error(`provisioning failed: ${JSON.stringify(job.error)}`);
    production = (await as(t, admin)('GET', `/api/v1/instances/${created.json().instance.id}`)).json().instance;
  }, 360_000);

  afterAll(async () => {
    await t?.close();
    await removeNamespace(namespace);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('imports the .dump of a real Odoo 17 database as a new instance that starts and serves /web/login', {
    timeout: 420_000,
  }, async () => {
    // As Odoo's dump_db runs it for backup_format=dump: pg_dump --no-owner --format=c <db>.
    const server = await t.services.databaseServers.forInstances('local');
    const c = await t.services.databaseServers.connection(server);
    const file = join(work, 'prod.dump');
    await promisify(execFile)('pg_dump', ['--no-owner', '--format=c', '--file', file, '--dbname', production.dbName], {
      env: { ...process.env, PGHOST: c.host, PGPORT: String(c.port), PGUSER: c.user, PGPASSWORD: c.password },
    });
    const imported = await t.app.inject({
      method: 'POST',
      url: `/api/v1/imports?project=${projectId}&name=fromdump&stage=staging&adminLogin=owner%40acme.test`,
      headers: { cookie: admin.cookie, 'x-marina-csrf': admin.csrf, 'content-type': 'application/octet-stream' },
      payload: await readFile(file),
    });
    expect(imported.statusCode, imported.body).toBe(202);
    expect(imported.json().backup).toMatchObject({ trigger: 'import', kind: 'database', status: 'completed' });
    const followed = await followJob(baseUrl, headers, imported.json().job.id, 360_000);
    if (followed.job.status !== 'succeeded') console.log(followed.logs.slice(-40).join('\n'));
    expect(followed.job.error).toBeNull();
    const copy = (await as(t, admin)('GET', `/api/v1/instances/${imported.json().instance.id}`)).json().instance;
    expect(copy).toMatchObject({ status: 'running', odooVersion: '17.0' });
    await waitForOdoo(copy.url, 120_000);
    const login = await fetch(`${copy.url}/web/login`, { redirect: 'manual' });
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('name="login"');
  });
});
