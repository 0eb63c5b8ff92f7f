import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, countRows, memberBrowser, type TestApp } from '../../../test/helpers/app.js';
import {
  docker,
  namespaceObjects,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { databaseExists, roleExists } from '../../adapters/postgres/admin.js';

/** Far below a poll's 30 s, far above an event's few milliseconds even on a busy machine. */
const EVENT_BOUND_MS = 5000;

/**
 * Provisioning and operating instances against the real Docker engine, a real PostgreSQL container,
 * and Marina's Odoo STAND-IN (test/standin): the platform flow, not evidence of Odoo's behaviour —
 * test/odoo/ runs the same against real Odoo.
 */
const namespace = testNamespace();
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let projectId: string;

const headersOf = (b: Browser) => ({ cookie: b.cookie, 'x-marina-csrf': b.csrf });

async function rpcLogin(url: string, db: string, login: string, password: string) {
  const response = await fetch(`${url}/web/session/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db, login, password } }),
  });
  return (await response.json()) as { result?: { uid: number }; error?: { data: { name: string } } };
}

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not within ${timeoutMs} ms`);
}

beforeAll(async () => {
  await requireDocker();
  ({ t, admin, baseUrl } = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    // An image that exists but is not Odoo: initialization fails for real.
    MARINA_ODOO_16_IMAGE: TEST_IMAGES.postgres,
    MARINA_ODOO_18_IMAGE: 'marina-test/no-such-image:1',
  }));
  const project = await as(t, admin)('POST', '/api/v1/projects', {
    organization: 'acme',
    name: 'erp',
    odooVersion: '17.0',
  });
  expect(project.statusCode).toBe(201);
  projectId = project.json().project.id;
}, 120_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
});

describe('instances on Docker (stand-in Odoo)', () => {
  type Instance = { id: string; url: string; dbName: string; name: string };
  /** Provisioned on first use and shared after: each test here runs alone too (`-t`). */
  let provisioned:
    | Promise<{
        created: Awaited<ReturnType<ReturnType<typeof as>>>;
        followed: Awaited<ReturnType<typeof followJob>>;
        instance: Instance;
        credentials: { login: string; password: string };
      }>
    | undefined;
  const theInstance = () => {
    provisioned ??= (async () => {
      const created = await as(t, admin)('POST', '/api/v1/instances', {
        project: projectId,
        name: 'main',
        stage: 'staging',
        cpus: 1,
        memoryMb: 1024,
        adminLogin: 'owner@acme.test',
      });
      if (created.statusCode !== 202) throw new Error(`provisioning refused: ${created.body}`);
      const followed = await followJob(baseUrl, headersOf(admin), created.json().job.id);
      const instance: Instance = (await as(t, admin)('GET', `/api/v1/instances/${created.json().instance.id}`)).json()
        .instance;
      return { created, followed, instance, credentials: created.json().credentials };
    })();
    return provisioned;
  };

  it('provisions an instance as a job with visible steps, and it answers with the customer credentials only', async () => {
    const { created, followed, instance, credentials } = await theInstance();
    expect(created.statusCode).toBe(202);
    const body = created.json();
    expect(body.job.steps.map((s: { name: string }) => s.name)).toEqual([
      'validate',
      'database',
      'volume',
      'configure',
      'initialize',
      'start',
      'health',
    ]);
    expect(body.credentials.password.length).toBeGreaterThanOrEqual(20);
    const { job, progress, logs } = followed;
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.steps.every((s) => s.status === 'done')).toBe(true);
    expect(progress.at(-1)).toBe(100);
    expect(logs.some((l) => l.includes('Marina stand-in') || l.includes('odoo'))).toBe(true);

    expect(instance).toMatchObject({
      status: 'running',
      stage: 'staging',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    });

    const health = await fetch(`${instance.url}/web/health`);
    expect(await health.json()).toEqual({ status: 'pass' });
    const login = await rpcLogin(instance.url, instance.dbName, credentials.login, credentials.password);
    expect(login.result?.uid).toBeGreaterThan(0);
    const defaults = await rpcLogin(instance.url, instance.dbName, 'admin', 'admin');
    expect(defaults.error?.data.name).toBe('odoo.exceptions.AccessDenied');
  });

  it('runs the container as Marina configured it: labels, limits, restart policy, loopback port', async () => {
    const { instance } = await theInstance();
    const info = await docker.getContainer(`${namespace}-odoo-${instance.id.replace(/-/g, '').slice(0, 16)}`).inspect();
    expect(info.Config.Labels).toMatchObject({
      'io.marina.managed': 'true',
      'io.marina.namespace': namespace,
      'io.marina.id': instance.id,
    });
    expect(info.HostConfig.Memory).toBe(1024 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(info.HostConfig.PortBindings?.['8069/tcp']?.[0]?.HostIp).toBe('127.0.0.1');
    const conf = await docker
      .getContainer(info.Id)
      .exec({ Cmd: ['cat', '/etc/odoo/odoo.conf'], AttachStdout: true, User: 'odoo' });
    const stream = await conf.start({});
    const text = await new Promise<string>((resolve) => {
      let out = '';
      stream.on('data', (c: Buffer) => {
        out += c.toString('utf8');
      });
      stream.on('end', () => resolve(out));
    });
    expect(text).toContain('list_db = False');
    expect(text).toContain(`dbfilter = ^${instance.dbName}$`);
    expect(text).not.toMatch(/admin_passwd = admin\s/);
  });

  it('shows stats: CPU, memory, network, database and filestore size', async () => {
    const { instance } = await theInstance();
    const stats = (await as(t, admin)('GET', `/api/v1/instances/${instance.id}/stats`)).json().stats;
    expect(stats.running).toBe(true);
    expect(stats.cpuPercent).toBeTypeOf('number');
    expect(stats.memoryBytes).toBeGreaterThan(0);
    expect(stats.memoryLimitBytes).toBe(1024 * 1024 * 1024);
    expect(stats.databaseBytes).toBeGreaterThan(1_000_000);
    expect(stats.filestoreBytes).toBeGreaterThan(0);
    // Uptime counts from the container's start as Docker records it, in seconds (not ms, not null).
    const container = docker.getContainer(`${namespace}-odoo-${instance.id.replace(/-/g, '').slice(0, 16)}`);
    const startedAt = Date.parse((await container.inspect()).State.StartedAt);
    const expected = (Date.now() - startedAt) / 1000;
    expect(stats.uptimeSeconds).toBeTypeOf('number');
    expect(Math.abs(stats.uptimeSeconds - expected)).toBeLessThanOrEqual(2);
  });

  // Marina follows events, it does not poll: a change shows in well under the 30 s a poll would
  // take. The bound leaves room for a loaded machine; latency itself is measured in `npm run bench`.
  it('follows Docker events: changes made outside Marina show at once', async () => {
    const { instance } = await theInstance();
    const container = docker.getContainer(`${namespace}-odoo-${instance.id.replace(/-/g, '').slice(0, 16)}`);
    const seen: { status: string; at: number }[] = [];
    const listener = (view: { id: string; status: string }) => {
      if (view.id === instance.id) seen.push({ status: view.status, at: Date.now() });
    };
    t.services.instances.bus.on('instance', listener);
    try {
      const stoppedAt = Date.now();
      await container.stop({ t: 5 });
      const stopped = await waitFor(async () => seen.find((s) => s.status === 'stopped'), EVENT_BOUND_MS + 5000);
      expect(stopped.at - stoppedAt).toBeLessThan(EVENT_BOUND_MS + 5000);
      expect((await t.services.instances.row(instance.id)).status).toBe('stopped');

      const startedAt = Date.now();
      await container.start();
      const running = await waitFor(
        async () => seen.find((s) => s.status === 'running' && s.at >= startedAt),
        EVENT_BOUND_MS,
      );
      expect(running.at - startedAt).toBeLessThan(EVENT_BOUND_MS);

      // A crash (the main process dies; `docker kill` would count as a manual stop): the restart
      // policy brings it back, and the status follows both moves.
      seen.length = 0;
      process.kill((await container.inspect()).State.Pid, 'SIGKILL');
      const killedAt = Date.now();
      const exited = await waitFor(async () => seen.find((s) => s.status === 'exited'), EVENT_BOUND_MS);
      expect(exited.at - killedAt).toBeLessThan(EVENT_BOUND_MS);
      await waitFor(async () => seen.find((s) => s.status === 'running' && s.at >= exited.at), 10_000);
      expect((await t.services.instances.row(instance.id)).status_detail).toBeNull();
    } finally {
      t.services.instances.bus.off('instance', listener);
    }
  });

  it('stops, starts and restarts through jobs', async () => {
    const { instance } = await theInstance();
    for (const [action, expected] of [
      ['stop', 'stopped'],
      ['start', 'running'],
      ['restart', 'running'],
    ] as const) {
      const res = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/${action}`, {});
      expect(res.statusCode, action).toBe(202);
      const { job } = await followJob(baseUrl, headersOf(admin), res.json().job.id);
      expect(job.status, `${action}: ${JSON.stringify(job.error)}`).toBe('succeeded');
      expect((await t.services.instances.row(instance.id)).status).toBe(expected);
    }
    expect((await fetch(`${instance.url}/web/health`)).status).toBe(200);
  });

  it('recreates a container removed outside Marina when the instance is started', async () => {
    const { instance, credentials } = await theInstance();
    await docker
      .getContainer(`${namespace}-odoo-${instance.id.replace(/-/g, '').slice(0, 16)}`)
      .remove({ force: true, v: true });
    await waitFor(
      async () => ((await t.services.instances.row(instance.id)).status === 'missing' ? true : undefined),
      5000,
    );
    const res = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/start`, {});
    const { job } = await followJob(baseUrl, headersOf(admin), res.json().job.id);
    expect(job.status).toBe('succeeded');
    const login = await rpcLogin(instance.url, instance.dbName, credentials.login, credentials.password);
    expect(login.result?.uid).toBeGreaterThan(0);
  });

  it('reveals the credentials again to organization admins, and audits it', async () => {
    const { instance, credentials } = await theInstance();
    const res = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/credentials`);
    expect(res.json().credentials).toMatchObject({ login: credentials.login, password: credentials.password });
    const audit = (await as(t, admin)('GET', '/api/v1/audit?category=instance'))
      .json()
      .events.map((e: { action: string }) => e.action);
    expect(audit).toEqual(
      expect.arrayContaining([
        'instance.create',
        'instance.stop',
        'instance.start',
        'instance.restart',
        'instance.reveal_credentials',
      ]),
    );
  });

  it('deletes everything: container, volume, database and role', async () => {
    const { instance } = await theInstance();
    const res = await as(t, admin)('DELETE', `/api/v1/instances/${instance.id}`);
    expect(res.statusCode).toBe(202);
    const { job } = await followJob(baseUrl, headersOf(admin), res.json().job.id);
    expect(job.status).toBe('succeeded');
    expect((await as(t, admin)('GET', `/api/v1/instances/${instance.id}`)).statusCode).toBe(404);
    const left = await namespaceObjects(namespace);
    expect(left.containers.filter((c) => c.includes('-odoo-'))).toEqual([]);
    expect(left.volumes.filter((v) => v.includes('-filestore-'))).toEqual([]);
    const server = await t.db.selectFrom('database_servers').selectAll().executeTakeFirstOrThrow();
    const connection = await t.services.databaseServers.connection(server);
    expect(await databaseExists(connection, instance.dbName)).toBe(false);
    expect(await roleExists(connection, instance.dbName)).toBe(false);
  });
});

describe('production safeguards and failures', () => {
  it('needs the typed name to stop or delete a production instance', async () => {
    const created = await as(t, admin)('POST', '/api/v1/instances', {
      project: projectId,
      name: 'prod',
      stage: 'production',
      memoryMb: 768,
      adminLogin: 'owner@acme.test',
    });
    const { job } = await followJob(baseUrl, headersOf(admin), created.json().job.id);
    expect(job.status).toBe('succeeded');
    const id = created.json().instance.id;
    for (const [method, url, body] of [
      ['POST', `/api/v1/instances/${id}/stop`, {}],
      ['POST', `/api/v1/instances/${id}/stop`, { confirm: 'Prod' }],
      ['DELETE', `/api/v1/instances/${id}`, undefined],
      ['DELETE', `/api/v1/instances/${id}?confirm=main`, undefined],
    ] as const) {
      const res = await as(t, admin)(method, url, body);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe('MARINA_E_CONFIRMATION_REQUIRED');
    }
    expect((await t.services.instances.row(id)).status).toBe('running');
    const del = await as(t, admin)('DELETE', `/api/v1/instances/${id}?confirm=prod`);
    expect(del.statusCode).toBe(202);
    expect((await followJob(baseUrl, headersOf(admin), del.json().job.id)).job.status).toBe('succeeded');
  });

  it('undoes a provisioning that fails during initialization (an image that is not Odoo), and says which step failed and why', async () => {
    const project = (
      await as(t, admin)('POST', '/api/v1/projects', { organization: 'acme', name: 'legacy', odooVersion: '16.0' })
    ).json().project;
    const created = await as(t, admin)('POST', '/api/v1/instances', {
      project: project.id,
      name: 'broken',
      stage: 'development',
      adminLogin: 'owner@acme.test',
    });
    const { job } = await followJob(baseUrl, headersOf(admin), created.json().job.id);
    expect(job.status).toBe('failed');
    expect(job.error?.step).toBe('initialize');
    expect(job.error?.message).toContain("does not follow the official odoo image's layout");
    expect(job.error?.code).toBe('MARINA_E_ODOO_VERSION_UNAVAILABLE');
    const row = await t.services.instances.row(created.json().instance.id);
    expect(row.status).toBe('failed');
    expect(row.status_detail).toContain('initialize');
    // A failed instance says so (not "busy"): it can neither start nor be backed up.
    for (const path of [`/api/v1/instances/${row.id}/start`, `/api/v1/instances/${row.id}/backups`]) {
      const refused = await as(t, admin)('POST', path, {});
      expect(refused.statusCode, path).toBe(409);
      expect(refused.json().error.code, path).toBe('MARINA_E_INSTANCE_FAILED');
    }
    const left = await namespaceObjects(namespace);
    expect(left.containers.filter((c) => c.includes('-odoo-'))).toEqual([]);
    expect(left.volumes.filter((v) => v.includes('-filestore-'))).toEqual([]);
    const server = await t.db.selectFrom('database_servers').selectAll().executeTakeFirstOrThrow();
    expect(await databaseExists(await t.services.databaseServers.connection(server), row.db_name)).toBe(false);
  });

  it('refuses an instance at once, and clearly, when the Odoo image is not on the host', async () => {
    const project = (
      await as(t, admin)('POST', '/api/v1/projects', { organization: 'acme', name: 'next', odooVersion: '18' })
    ).json().project;
    const created = await as(t, admin)('POST', '/api/v1/instances', {
      project: project.id,
      name: 'x',
      stage: 'development',
      adminLogin: 'owner@acme.test',
    });
    // Refused before a job is queued (issue #17), naming the image and the setting to change.
    expect(created.statusCode).toBe(409);
    expect(created.json().error.code).toBe('MARINA_E_ODOO_VERSION_UNAVAILABLE');
    expect(created.json().error.message).toContain('MARINA_ODOO_18_IMAGE');
  });
});

describe('ports', () => {
  it('skips ports of the range that another program holds on the host', { timeout: 120_000 }, async () => {
    const { from } = t.config.instances.portRange;
    const taken = new Set((await t.db.selectFrom('instances').select('http_port').execute()).map((r) => r.http_port));
    const squatters: import('node:net').Server[] = [];
    const { createServer } = await import('node:net');
    const held: number[] = [];
    for (let port = from; held.length < 3; port++) {
      if (taken.has(port)) continue;
      const server = createServer();
      // A port someone else already holds (another test's instance) is skipped, not waited on.
      const listening = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen({ host: '127.0.0.1', port }, () => resolve(true));
      });
      if (!listening) continue;
      squatters.push(server);
      held.push(port);
    }
    try {
      const created = await as(t, admin)('POST', '/api/v1/instances', {
        project: projectId,
        name: 'ports',
        stage: 'development',
        memoryMb: 768,
        adminLogin: 'owner@acme.test',
      });
      expect(held).not.toContain(created.json().instance.httpPort);
      expect((await followJob(baseUrl, headersOf(admin), created.json().job.id)).job.status).toBe('succeeded');
    } finally {
      for (const server of squatters) server.close();
    }
  });
});

describe('bad input and isolation', () => {
  it('refuses bad names, versions, stages and sizes before anything is created', async () => {
    const before = await Promise.all([countRows(t.db, 'audit_events'), namespaceObjects(namespace)]);
    const instancesBefore = (await t.db.selectFrom('instances').select('id').execute()).length;
    const good = { project: projectId, name: 'ok', stage: 'development', adminLogin: 'owner@acme.test' };
    for (const [field, value] of [
      ['name', 'a;rm -rf /'],
      ['name', '$(reboot)'],
      ['name', '..'],
      ['name', 'Main'],
      ['name', 'x'.repeat(31)],
      ['name', 'a b'],
      ['stage', 'prod'],
      ['cpus', 0],
      ['cpus', 64],
      ['cpus', 1.3],
      ['memoryMb', 100],
      ['memoryMb', 1e9],
      ['adminLogin', 'admin'],
      ['language', 'en_US; DROP'],
      ['country', 'Belgium'],
      ['project', '../etc'],
    ] as const) {
      const res = await as(t, admin)('POST', '/api/v1/instances', { ...good, [field]: value });
      expect(res.statusCode, `${field}=${value}`).toBe(400);
      expect(res.json().error.code).toBe('MARINA_E_VALIDATION');
    }
    for (const version of ['15.0', '20', 'latest', '17.0; rm']) {
      const res = await as(t, admin)('POST', '/api/v1/projects', {
        organization: 'acme',
        name: 'v',
        odooVersion: version,
      });
      expect(res.statusCode, version).toBe(400);
    }
    expect((await t.db.selectFrom('instances').select('id').execute()).length).toBe(instancesBefore);
    expect(await Promise.all([countRows(t.db, 'audit_events'), namespaceObjects(namespace)])).toEqual(before);
  });

  it('hides instances, their jobs, stats and actions from other organizations (404)', async () => {
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'globex', name: 'Globex' });
    const outsider = await memberBrowser(t, admin, 'globex', 'owner@globex.test', 'owner');
    const created = await as(t, admin)('POST', '/api/v1/instances', {
      project: projectId,
      name: 'private',
      stage: 'development',
      memoryMb: 768,
      adminLogin: 'owner@acme.test',
    });
    const id = created.json().instance.id;
    const jobId = created.json().job.id;
    await followJob(baseUrl, headersOf(admin), jobId);
    for (const [method, url] of [
      ['GET', `/api/v1/instances/${id}`],
      ['GET', `/api/v1/instances/${id}/stats`],
      ['POST', `/api/v1/instances/${id}/stop`],
      ['POST', `/api/v1/instances/${id}/credentials`],
      ['DELETE', `/api/v1/instances/${id}`],
      ['GET', `/api/v1/jobs/${jobId}`],
      ['GET', `/api/v1/jobs/${jobId}/events`],
      ['GET', `/api/v1/projects/${projectId}`],
    ] as const) {
      const res = await as(t, outsider)(method, url, method === 'POST' ? {} : undefined);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await as(t, outsider)('GET', '/api/v1/instances')).json().instances).toEqual([]);
    expect((await as(t, outsider)('GET', '/api/v1/jobs')).json().jobs).toEqual([]);
    expect((await as(t, outsider)('GET', '/api/v1/projects')).json().projects).toEqual([]);
    const sneaky = await as(t, outsider)('POST', '/api/v1/instances', {
      project: projectId,
      name: 'in',
      stage: 'development',
      adminLogin: 'x@globex.test',
    });
    expect(sneaky.statusCode).toBe(404);
    const member = await memberBrowser(t, admin, 'acme', 'viewer@acme.test', 'member');
    expect((await as(t, member)('GET', `/api/v1/instances/${id}`)).statusCode).toBe(200);
    expect((await as(t, member)('POST', `/api/v1/instances/${id}/stop`, {})).statusCode).toBe(403);
    expect((await as(t, member)('POST', `/api/v1/instances/${id}/credentials`)).statusCode).toBe(403);
  });
});
