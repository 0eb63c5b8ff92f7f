import { existsSync } from 'node:fs';
import { mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, type TestApp } from '../../../test/helpers/app.js';
import {
  docker,
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { makeOrganization, makeProject, requestInstance } from '../../../test/helpers/factories.js';
import { createTestRepository, type TestRepository, writeAddon } from '../../../test/helpers/git-repo.js';
import { followJob } from '../../../test/helpers/jobs.js';
import type { Runtime } from '../../runtime/port.js';

/**
 * Tenant isolation at the container level, against the real Docker engine and the Odoo stand-in
 * (not Odoo; the container's security settings and networks are what is checked): hardened
 * containers, one network per organization, and repository sub-folders and submodules that
 * cannot bring the host's files or another tenant's checkout into an instance.
 */
const namespace = testNamespace();
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let headers: Record<string, string>;
let engine: Runtime;
type Provisioned = { id: string; url: string; name: string; projectId: string };
let acme: Provisioned;
let other: Provisioned;
const repos: TestRepository[] = [];
let reposRoot: string;

const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
  as(t, admin)(method, url, payload);

const containerName = (instanceId: string) => `${namespace}-odoo-${instanceId.replace(/-/g, '').slice(0, 16)}`;

async function provisionIn(organization: string): Promise<Provisioned> {
  const project = await makeProject(call, { organization, name: `${organization}-erp` });
  const created = await requestInstance(call, { project: project.id, adminLogin: `o@${organization}.test` });
  const { job } = await followJob(baseUrl, headers, created.job.id, 180_000);
  expect(job.error).toBeNull();
  const instance = (await call('GET', `/api/v1/instances/${created.instance.id}`)).json().instance;
  return { ...instance, projectId: project.id };
}

/** A TCP connection attempt from inside a container: a fixed program, the address as arguments. */
const CONNECT =
  'import socket,sys\ns=socket.socket()\ns.settimeout(3)\ntry:\n  s.connect((sys.argv[1],int(sys.argv[2])))\n  print("open")\nexcept Exception as e:\n  print("closed",e)\n  sys.exit(1)';

async function connectFrom(container: string, host: string, port: number) {
  const result = await engine.exec(container, ['python3', '-c', CONNECT, host, String(port)]);
  return { open: result.exitCode === 0, output: result.output };
}

async function addRepository(project: string, body: Record<string, unknown>) {
  const created = await call('POST', `/api/v1/projects/${project}/repositories`, body);
  expect(created.statusCode, created.body).toBe(201);
  const { job, logs } = await followJob(baseUrl, headers, created.json().jobs[0].id, 180_000);
  return { repository: created.json().repository, job, logs };
}

/** Bind mounts of an instance's container that are not its own checkouts or the Odoo source. */
async function foreignBinds(instanceId: string): Promise<string[]> {
  const container = await docker.getContainer(containerName(instanceId)).inspect();
  const own = join(t.config.dataDir, 'addons', instanceId);
  return container.Mounts.filter((m) => m.Type === 'bind' && !m.Source.startsWith(`${own}/`)).map((m) => m.Source);
}

beforeAll(async () => {
  await requireDocker();
  ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin }));
  engine = await t.services.hosts.reachableRuntime('local');
  acme = { ...(await provisionInstance({ t, admin, baseUrl, headers })).instance, projectId: '' };
  acme.projectId = (await call('GET', `/api/v1/instances/${acme.id}`)).json().instance.projectId;
  await makeOrganization(call, { slug: 'other', name: 'Other' });
  other = await provisionIn('other');
  // Local repositories, for both organizations, from a root folder of their own.
  reposRoot = await realpath(await mkdtemp(join(tmpdir(), 'marina-isolation-repos-')));
  const root = await call('PUT', '/api/v1/settings/git', { fileRoot: reposRoot });
  expect(root.statusCode, root.body).toBe(200);
  for (const project of [acme.projectId, other.projectId]) {
    const { organizationId } = (await call('GET', `/api/v1/projects/${project}`)).json().project;
    const allowed = await call('PUT', `/api/v1/organizations/${organizationId}/file-repositories`, {
      allowFileRepositories: true,
    });
    expect(allowed.statusCode, allowed.body).toBe(200);
  }
}, 360_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
  for (const repo of repos) await repo.cleanup();
  if (reposRoot) await rm(reposRoot, { recursive: true, force: true });
});

describe('container isolation', { timeout: 300_000 }, () => {
  it('runs Odoo with no capabilities, no new privileges, and pids, memory and CPU limits', async () => {
    const container = await docker.getContainer(containerName(acme.id)).inspect();
    const host = container.HostConfig;
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.SecurityOpt).toContain('no-new-privileges');
    expect(host.PidsLimit).toBeGreaterThan(0);
    expect(host.Memory).toBe(768 * 1024 * 1024);
    expect(host.NanoCpus).toBeGreaterThan(0);
    // Odoo still runs that way.
    expect((await fetch(`${acme.url}/web/health`)).status).toBe(200);

    // The managed PostgreSQL server: only what its entrypoint needs to hand its data folder to postgres.
    const [server] = await t.db.selectFrom('database_servers').selectAll().where('kind', '=', 'managed').execute();
    const pg = (await docker.getContainer(server?.container_name ?? '').inspect()).HostConfig;
    expect(pg.CapDrop).toEqual(['ALL']);
    expect(pg.CapAdd ?? []).not.toContain('NET_RAW');
    expect(pg.CapAdd ?? []).not.toContain('SYS_ADMIN');
    expect(pg.SecurityOpt).toContain('no-new-privileges');
    expect(pg.PidsLimit).toBeGreaterThan(0);
    expect(pg.Memory).toBeGreaterThan(0);
    expect(pg.NanoCpus).toBeGreaterThan(0);
  });

  it("one organization's Odoo cannot connect to another's, and reaches the database server on its port", async () => {
    const a = await docker.getContainer(containerName(acme.id)).inspect();
    const b = await docker.getContainer(containerName(other.id)).inspect();
    const networksA = Object.keys(a.NetworkSettings.Networks);
    const networksB = Object.keys(b.NetworkSettings.Networks);
    expect(networksA.filter((n) => networksB.includes(n))).toEqual([]);

    const [server] = await t.db.selectFrom('database_servers').selectAll().where('kind', '=', 'managed').execute();
    const db = await connectFrom(a.Id, server?.internal_host ?? '', server?.internal_port ?? 5432);
    expect(db.open, db.output).toBe(true);
    const fromB = await connectFrom(b.Id, server?.internal_host ?? '', server?.internal_port ?? 5432);
    expect(fromB.open, fromB.output).toBe(true);

    for (const { IPAddress } of Object.values(b.NetworkSettings.Networks)) {
      const attempt = await connectFrom(a.Id, IPAddress, 8069);
      expect(attempt.open, `${IPAddress}:8069 ${attempt.output}`).toBe(false);
    }
    for (const { IPAddress } of Object.values(a.NetworkSettings.Networks)) {
      const attempt = await connectFrom(b.Id, IPAddress, 8069);
      expect(attempt.open, `${IPAddress}:8069 ${attempt.output}`).toBe(false);
    }
    // Marina still reaches both through their published ports.
    expect((await fetch(`${acme.url}/web/health`)).status).toBe(200);
    expect((await fetch(`${other.url}/web/health`)).status).toBe(200);
  });

  it.each([
    ['addons -> ../..', '../..'],
    ['addons -> /etc', '/etc'],
  ])('refuses a sub-folder that is a symbolic link (%s) and mounts nothing of the host', async (label, target) => {
    const repo = await createTestRepository('17.0', reposRoot);
    repos.push(repo);
    await writeAddon(repo, 'real/good_addon', { '__manifest__.py': "{'name': 'Good', 'version': '1.0'}\n" });
    await symlink(target, join(repo.work, 'addons'));
    await repo.commit(`A sub-folder that is a link: ${label}`);
    await repo.push();
    const name = `link-${target === '/etc' ? 'etc' : 'up'}`;
    const { repository, job, logs } = await addRepository(acme.projectId, {
      url: repo.url,
      branch: '17.0',
      name,
      subfolder: 'addons',
    });
    expect(job.status, logs.join('\n')).toBe('failed');
    expect(job.error?.message).toMatch(/"addons".*symbolic link/);
    const described = (await call('GET', `/api/v1/repositories/${repository.id}`)).json().repository;
    expect(described.checkouts[0]).toMatchObject({ status: 'failed' });

    // Whatever the instance runs with mounts nothing but its own checkouts.
    const restarted = await call('POST', `/api/v1/instances/${acme.id}/restart`, {});
    expect(restarted.statusCode, restarted.body).toBe(202);
    const restart = await followJob(baseUrl, headers, restarted.json().job.id, 180_000);
    expect(restart.job.status, restart.logs.join('\n')).toBe('succeeded');
    expect(await foreignBinds(acme.id)).toEqual([]);
    const container = await docker.getContainer(containerName(acme.id)).inspect();
    expect(container.Mounts.some((m) => m.Destination === `/mnt/extra-addons/${name}`)).toBe(false);
    await followJob(
      baseUrl,
      headers,
      (await call('DELETE', `/api/v1/repositories/${repository.id}`)).json().jobs[0].id,
      120_000,
    );
  });

  it('mounts the checkout itself and points addons_path at the sub-folder inside the container', async () => {
    const repo = await createTestRepository('17.0', reposRoot);
    repos.push(repo);
    await writeAddon(repo, 'src/addons/sub_addon', { '__manifest__.py': "{'name': 'Sub', 'version': '1.0'}\n" });
    await repo.commit('An addon in a sub-folder');
    await repo.push();
    const { job, logs } = await addRepository(acme.projectId, {
      url: repo.url,
      branch: '17.0',
      name: 'nested',
      subfolder: 'src/addons',
    });
    expect(job.status, logs.join('\n')).toBe('succeeded');
    const container = await docker.getContainer(containerName(acme.id)).inspect();
    const mount = container.Mounts.find((m) => m.Destination === '/mnt/extra-addons/nested');
    expect(mount?.Source).toBe(join(t.config.dataDir, 'addons', acme.id, 'nested'));
    expect(mount?.RW).toBe(false);
    const conf = await engine.readFile(container.Id, '/etc/odoo/odoo.conf');
    expect(conf).toMatch(/^addons_path = .*,\/mnt\/extra-addons\/nested\/src\/addons(,|$)/m);
    expect((await fetch(`${acme.url}/web/health`)).status).toBe(200);
    const modules = (await call('GET', `/api/v1/instances/${acme.id}/modules`)).json().modules as { name: string }[];
    expect(modules.map((m) => m.name)).toContain('sub_addon');
  });

  it("refuses a submodule that points at another tenant's checkout", async () => {
    // The other organization's private addon, checked out for its instance.
    const secret = await createTestRepository('17.0', reposRoot);
    repos.push(secret);
    await writeAddon(secret, 'secret_addon', { '__manifest__.py': "{'name': 'Secret', 'version': '1.0'}\n" });
    await secret.commit('A private addon');
    await secret.push();
    const theirs = await addRepository(other.projectId, { url: secret.url, branch: '17.0', name: 'private' });
    expect(theirs.job.status, theirs.logs.join('\n')).toBe('succeeded');
    const checkout = join(t.config.dataDir, 'addons', other.id, 'private');
    expect(existsSync(join(checkout, 'secret_addon/__manifest__.py'))).toBe(true);

    // The attacker's superproject names that checkout as a submodule.
    const evil = await createTestRepository('17.0', reposRoot);
    repos.push(evil);
    await evil.write('README.md', 'Nothing to see\n');
    await evil.commit('Initial');
    const head = await evil.git('-C', checkout, 'rev-parse', 'HEAD');
    await evil.write('.gitmodules', `[submodule "stolen"]\n\tpath = stolen\n\turl = file://${checkout}\n`);
    await evil.git('update-index', '--add', '--cacheinfo', `160000,${head},stolen`);
    // Not commit(): its "add -A" would drop the gitlink, which has no folder in the work tree.
    await evil.git('add', '.gitmodules');
    await evil.git('commit', '-q', '-m', 'A submodule');
    await evil.push();
    const mine = await addRepository(acme.projectId, {
      url: evil.url,
      branch: '17.0',
      name: 'evil',
      submodules: true,
    });
    expect(mine.job.status, mine.logs.join('\n')).toBe('failed');
    expect(mine.job.error?.message).toMatch(/not allowed|refused|protocol/i);
    const stolen = join(t.config.dataDir, 'addons', acme.id, 'evil', 'stolen', 'secret_addon');
    expect(existsSync(stolen)).toBe(false);
    const container = await docker.getContainer(containerName(acme.id)).inspect();
    expect(container.Mounts.some((m) => m.Destination === '/mnt/extra-addons/evil')).toBe(false);
    expect(await foreignBinds(acme.id)).toEqual([]);
  });

  it("deleting an organization's last instance on the host removes its network", async () => {
    const b = await docker.getContainer(containerName(other.id)).inspect();
    const [network] = Object.keys(b.NetworkSettings.Networks);
    expect(network).toMatch(new RegExp(`^${namespace}-org-`));
    const removed = await call('DELETE', `/api/v1/instances/${other.id}`);
    expect(removed.statusCode, removed.body).toBe(202);
    const { job, logs } = await followJob(baseUrl, headers, removed.json().job.id, 180_000);
    expect(job.status, logs.join('\n')).toBe('succeeded');
    expect(await docker.listNetworks({ filters: { name: [network ?? ''] } })).toEqual([]);
    // The other organization's instance keeps its database server.
    const [server] = await t.db.selectFrom('database_servers').selectAll().where('kind', '=', 'managed').execute();
    const db = await connectFrom(containerName(acme.id), server?.internal_host ?? '', server?.internal_port ?? 5432);
    expect(db.open, db.output).toBe(true);
  });
});
