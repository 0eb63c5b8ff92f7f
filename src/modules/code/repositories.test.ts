import { createHmac, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser, countRows, memberBrowser, type TestApp } from '../../../test/helpers/app.js';
import {
  docker,
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import {
  allowLocalRepositories,
  createTestRepository,
  demoAddon,
  type TestRepository,
  writeAddon,
} from '../../../test/helpers/git-repo.js';
import { startGitSshServer } from '../../../test/helpers/git-ssh-server.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { withClient } from '../../adapters/postgres/admin.js';

/**
 * Repositories, push-to-deploy and modules against the real git CLI, Docker, PostgreSQL and the
 * Odoo stand-in (which lists and "installs" modules from the addons path, but is not Odoo: the
 * real-Odoo test in test/odoo/repositories.test.ts checks tables, columns and rollback on Odoo 17).
 */
const namespace = testNamespace();
let t: TestApp;
let admin: Browser;
let baseUrl: string;
let headers: Record<string, string>;
let instance: { id: string; url: string; name: string; dbName: string };
let projectId: string;
let repo: TestRepository;
let repository: {
  id: string;
  name: string;
  hook: { url: string; secret: string };
  deployKey: string;
  checkouts: { instanceId: string; commit: string | null; status: string }[];
};

const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
  as(t, admin)(method, url, payload);

async function finished(jobId: string, timeoutMs = 180_000) {
  return followJob(baseUrl, headers, jobId, timeoutMs);
}

async function succeeded(jobId: string) {
  const { job, logs } = await finished(jobId);
  expect(job.error, logs.join('\n')).toBeNull();
  expect(job.status).toBe('succeeded');
  return { job, logs };
}

const hookPath = () => new URL(repository.hook.url).pathname;

function githubPush(branch: string, after: string, secret = repository.hook.secret) {
  const body = JSON.stringify({
    ref: `refs/heads/${branch}`,
    before: '0'.repeat(40),
    after,
    deleted: false,
    pusher: { name: 'ada' },
    head_commit: { id: after, message: 'a change' },
    repository: { full_name: 'acme/addons' },
  });
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return {
    body,
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature },
  };
}

const post = (path: string, push: { body: string; headers: Record<string, string> }) =>
  t.app.inject({ method: 'POST', url: path, headers: push.headers, payload: push.body });

async function getRepository() {
  return (await call('GET', `/api/v1/repositories/${repository.id}`)).json().repository;
}

async function modules() {
  const response = await call('GET', `/api/v1/instances/${instance.id}/modules`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().modules as {
    name: string;
    state: string;
    installedVersion: string | null;
    availableVersion: string | null;
    repository: string | null;
  }[];
}

const stateOf = async (name: string) => (await modules()).find((m) => m.name === name)?.state;

async function healthOk() {
  const response = await fetch(`${instance.url}/web/health`);
  return response.status;
}

beforeAll(async () => {
  await requireDocker();
  ({ t, admin, baseUrl, headers } = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
  }));
  ({ instance } = await provisionInstance({ t, admin, baseUrl, headers }));
  const found = (await call('GET', `/api/v1/instances/${instance.id}`)).json().instance;
  projectId = found.projectId;
  repo = await createTestRepository('17.0');
  await writeAddon(repo, 'marina_demo', demoAddon({ version: '1.0' }));
  await repo.write('README.md', 'Addons of ACME\n');
  await repo.commit('First version of marina_demo');
  await repo.push();
}, 240_000);

afterAll(async () => {
  await t?.close();
  await removeNamespace(namespace);
  await repo?.cleanup();
});

describe('repositories', { timeout: 300_000 }, () => {
  it('refuses file:// until an admin allows local repositories, and bad input changes nothing', async () => {
    const before = await countRows(t.db, 'repositories');
    const refused = await call('POST', `/api/v1/projects/${projectId}/repositories`, { url: repo.url, branch: '17.0' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/Settings|admin/i);
    const bad: [Record<string, unknown>, string][] = [
      [{ url: '-oProxyCommand=touch /tmp/marina-pwned', branch: '17.0' }, 'url'],
      [{ url: 'ext::sh -c touch% /tmp/marina-pwned', branch: '17.0' }, 'url'],
      [{ url: 'https://github.com/acme/addons .git', branch: '17.0' }, 'url'],
      [{ url: 'https://github.com/acme/addons.git\n--upload-pack=touch', branch: '17.0' }, 'url'],
      [{ url: 'git@github.com:acme/addons.git', branch: '-f' }, 'branch'],
      [{ url: 'git@github.com:acme/addons.git', branch: 'main..x' }, 'branch'],
      [{ url: 'git@github.com:acme/addons.git', branch: 'a b' }, 'branch'],
      [{ url: 'https://github.com/acme/addons.git', branch: '17.0', name: '../etc' }, 'name'],
      [{ url: 'https://github.com/acme/addons.git', branch: '17.0', subfolder: '../../etc' }, 'subfolder'],
    ];
    for (const [body, field] of bad) {
      const response = await call('POST', `/api/v1/projects/${projectId}/repositories`, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().error.details.field ?? field, JSON.stringify(body)).toBe(field);
    }
    expect(existsSync('/tmp/marina-pwned')).toBe(false);
    expect(await countRows(t.db, 'repositories')).toBe(before);

    const acme = (await call('GET', '/api/v1/organizations/acme')).json().organization;
    await allowLocalRepositories(call, acme.id);
  });

  it('clones into every instance, mounts the folder read-only and computes addons_path', async () => {
    const created = await call('POST', `/api/v1/projects/${projectId}/repositories`, {
      url: repo.url,
      branch: '17.0',
      name: 'acme-addons',
    });
    expect(created.statusCode, created.body).toBe(201);
    repository = created.json().repository;
    expect(repository.deployKey).toMatch(/^ssh-ed25519 AAAA/);
    expect(repository.hook.url).toContain('/api/v1/hooks/git/');
    const [job] = created.json().jobs;
    await succeeded(job.id);

    const head = await repo.git('rev-parse', 'HEAD');
    const described = await getRepository();
    expect(described.checkouts[0]).toMatchObject({ commit: head, status: 'ready', addons: ['marina_demo'] });
    expect(described.checkouts[0].git).toMatchObject({ branch: '17.0', dirty: false, ahead: 0, behind: 0 });
    expect(described.checkouts[0].git.head.subject).toBe('First version of marina_demo');

    const container = await docker
      .getContainer(`${namespace}-odoo-${instance.id.replace(/-/g, '').slice(0, 16)}`)
      .inspect();
    const mount = container.Mounts.find((m) => m.Destination === '/mnt/extra-addons/acme-addons');
    expect(mount?.RW).toBe(false);
    const conf = await t.services.hosts
      .reachableRuntime('local')
      .then((engine) => engine.readFile(container.Id, '/etc/odoo/odoo.conf'));
    expect(conf).toMatch(/^addons_path = .*\/mnt\/extra-addons,\/mnt\/extra-addons\/acme-addons$/m);
    expect(await healthOk()).toBe(200);
    // In the addons, not yet in Odoo's apps list.
    expect(await stateOf('marina_demo')).toBe('available');
  });

  it('updates the apps list as a job', async () => {
    const applied = await call('POST', `/api/v1/instances/${instance.id}/modules`, { updateList: true });
    expect(applied.statusCode, applied.body).toBe(202);
    await succeeded(applied.json().job.id);
    expect(await stateOf('marina_demo')).toBe('uninstalled');
  });

  it('installs a module from the repository as a job', async () => {
    const dry = await call('POST', `/api/v1/instances/${instance.id}/modules`, {
      install: ['marina_demo'],
      dryRun: true,
    });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json().job).toBeNull();
    const applied = await call('POST', `/api/v1/instances/${instance.id}/modules`, { install: ['marina_demo'] });
    expect(applied.statusCode, applied.body).toBe(202);
    await succeeded(applied.json().job.id);
    const installed = (await modules()).find((m) => m.name === 'marina_demo');
    expect(installed).toMatchObject({ state: 'installed', installedVersion: '17.0.1.0', repository: 'acme-addons' });
    expect(await healthOk()).toBe(200);
  });

  it('refuses forged signatures, unknown tokens and other branches, and changes nothing', async () => {
    const jobsBefore = await countRows(t.db, 'operations');
    const head = await repo.git('rev-parse', 'HEAD');
    const forged = await post(hookPath(), githubPush('17.0', head, 'not-the-secret'));
    expect(forged.statusCode).toBe(401);
    expect(forged.json().error.code).toBe('MARINA_E_HOOK_REJECTED');
    const unsigned = githubPush('17.0', head);
    delete (unsigned.headers as Record<string, string>)['x-hub-signature-256'];
    expect((await post(hookPath(), unsigned)).statusCode).toBe(401);
    const tampered = githubPush('17.0', head);
    tampered.body = tampered.body.replace('a change', 'b change');
    expect((await post(hookPath(), tampered)).statusCode).toBe(401);
    expect((await post('/api/v1/hooks/git/unknown-token-0123456789abcdef', githubPush('17.0', head))).statusCode).toBe(
      404,
    );
    const other = await post(hookPath(), githubPush('18.0', head));
    expect(other.statusCode).toBe(200);
    expect(other.json()).toMatchObject({ accepted: false });
    expect(await countRows(t.db, 'operations')).toBe(jobsBefore);
  });

  it('a signed push upgrades the changed module without a click', async () => {
    await writeAddon(repo, 'marina_demo', demoAddon({ version: '1.1', extraField: true }));
    const after = await repo.commit('Add a priority field');
    await repo.push();

    // A GET never runs git: asking it to fetch is refused, and a plain GET does not see the push.
    const refused = await call('GET', `/api/v1/repositories/${repository.id}?fetch=true`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/POST \/api\/v1\/repositories\/\{id\}\/fetch/);
    expect((await getRepository()).checkouts[0].git).toMatchObject({ behind: 0 });
    const status = (await call('POST', `/api/v1/repositories/${repository.id}/fetch`)).json().repository;
    expect(status.checkouts[0].git).toMatchObject({ behind: 1, ahead: 0, diverged: false });

    const pushed = await post(hookPath(), githubPush('17.0', after));
    expect(pushed.statusCode, pushed.body).toBe(202);
    const { job, logs } = await succeeded(pushed.json().jobs[0].id);
    expect(job.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'fetch:done',
      'changes:done',
      'backup:done',
      'upgrade:done',
      'restart:done',
      'health:done',
    ]);
    expect(logs.join('\n')).toMatch(/installed and changed: marina_demo/);
    expect((await modules()).find((m) => m.name === 'marina_demo')).toMatchObject({
      installedVersion: '17.0.1.1',
      availableVersion: '17.0.1.1',
    });
    expect((await getRepository()).checkouts[0].commit).toBe(after);
    // The same delivery again (a replay) is answered 200 and starts nothing.
    const jobsAfter = await countRows(t.db, 'operations');
    const replayed = await post(hookPath(), githubPush('17.0', after));
    expect(replayed.statusCode).toBe(200);
    expect(replayed.json()).toMatchObject({ accepted: false, jobs: [] });
    expect(await countRows(t.db, 'operations')).toBe(jobsAfter);
    const backups = (await call('GET', `/api/v1/instances/${instance.id}/backups`)).json().backups;
    expect(
      backups.some((b: { trigger: string; status: string }) => b.trigger === 'pre-update' && b.status === 'completed'),
    ).toBe(true);
  });

  it('GitLab and Gitea pushes are accepted with their own secret schemes', async () => {
    const body = JSON.stringify({
      object_kind: 'push',
      ref: 'refs/heads/17.0',
      after: await repo.git('rev-parse', 'HEAD'),
    });
    const gitlab = await t.app.inject({
      method: 'POST',
      url: hookPath(),
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': 'Push Hook',
        'x-gitlab-token': repository.hook.secret,
      },
      payload: body,
    });
    expect(gitlab.statusCode, gitlab.body).toBe(202);
    const { job } = await succeeded(gitlab.json().jobs[0].id);
    expect(job.steps.find((s) => s.name === 'upgrade')?.status).toBe('skipped');
    const wrong = await t.app.inject({
      method: 'POST',
      url: hookPath(),
      headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'guess' },
      payload: body,
    });
    expect(wrong.statusCode).toBe(401);
    // Another delivery, so other bytes: the same signed bytes again would be a replay.
    const giteaBody = JSON.stringify({ ...JSON.parse(body), pusher: { login: 'ada' } });
    const gitea = await t.app.inject({
      method: 'POST',
      url: hookPath(),
      headers: {
        'content-type': 'application/json',
        'x-gitea-event': 'push',
        'x-gitea-delivery': randomUUID(),
        'x-gitea-signature': createHmac('sha256', repository.hook.secret).update(giteaBody).digest('hex'),
      },
      payload: giteaBody,
    });
    expect(gitea.statusCode, gitea.body).toBe(202);
    await succeeded(gitea.json().jobs[0].id);
  });

  it('a broken manifest fails the update, which rolls back to the previous commit and stays healthy', async () => {
    const good = await repo.git('rev-parse', 'HEAD');
    await repo.write('marina_demo/__manifest__.py', "{'name': 'Marina Demo', 'version': '1.2',\n");
    await repo.commit('Broken manifest');
    await repo.push();
    const pulled = await call('POST', `/api/v1/repositories/${repository.id}/pull`, {});
    expect(pulled.statusCode, pulled.body).toBe(202);
    const { job } = await finished(pulled.json().jobs[0].id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('MARINA_E_UPDATE_FAILED');
    expect(job.error?.message).toMatch(/marina_demo/);
    const after = await getRepository();
    expect(after.checkouts[0]).toMatchObject({ commit: good, status: 'ready' });
    expect(after.checkouts[0].git.head.hash).toBe(good);
    expect(await healthOk()).toBe(200);
    expect(await stateOf('marina_demo')).toBe('installed');
  });

  it('a diverged branch is refused with a clear message and nothing changes', async () => {
    const good = (await getRepository()).checkouts[0].commit;
    await repo.git('reset', '--hard', 'HEAD~2');
    await repo.write('other.txt', 'rewritten history\n');
    await repo.commit('Rewritten');
    await repo.push('17.0', true);
    const pulled = await call('POST', `/api/v1/repositories/${repository.id}/pull`, {});
    const { job } = await finished(pulled.json().jobs[0].id);
    expect(job.status).toBe('failed');
    expect(job.error?.message).toMatch(/diverged|fast-forward/i);
    expect((await getRepository()).checkouts[0].commit).toBe(good);
    expect(await healthOk()).toBe(200);
  });

  it('an update interrupted mid-upgrade (Marina stopped) is rolled back when its job is recovered', async () => {
    const current = (await getRepository()).checkouts[0];
    const backup = await call('POST', `/api/v1/instances/${instance.id}/backups`, {
      kind: 'database',
      format: 'native',
    });
    expect(backup.statusCode, backup.body).toBe(202);
    await succeeded(backup.json().job.id);
    // What the interrupted upgrade had done: a change in the database, and Odoo stopped.
    const connection = await t.services.databaseServers.connection(
      await t.services.databaseServers.forInstances('local'),
    );
    await withClient(connection, instance.dbName, (c) =>
      c.query("INSERT INTO ir_config_parameter (key, value) VALUES ('marina.half.upgraded', 'yes')"),
    );
    const engine = await t.services.hosts.reachableRuntime('local');
    const containerName = `${namespace}-odoo-${instance.id.replace(/-/g, '').slice(0, 16)}`;
    await engine.stop(containerName);
    const row = await t.db
      .selectFrom('operations')
      .selectAll()
      .where('kind', '=', 'repository.update')
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    const progress = {
      before: { commit: current.commit, checksums: {}, paths: ['.'], rootIsAddon: false },
      wasRunning: true,
      from: current.commit,
      to: current.commit,
      safetyBackup: backup.json().backup.id,
      upgradeStarted: true,
      runtimeChanged: true,
    };
    const handler = t.services.runner.handlerFor('repository.update');
    await handler.recover?.(
      {
        operation: { ...row, resources: { update: progress } },
        resources: { update: progress },
        input: { repositoryId: repository.id, reason: 'pull' },
      },
      { code: 'MARINA_E_INTERRUPTED', message: 'Marina stopped during the job', step: 'upgrade' },
    );
    const marker = await withClient(connection, instance.dbName, (c) =>
      c.query("SELECT value FROM ir_config_parameter WHERE key = 'marina.half.upgraded'"),
    );
    expect(marker.rowCount).toBe(0);
    expect(await healthOk()).toBe(200);
    expect((await getRepository()).checkouts[0]).toMatchObject({ commit: current.commit, status: 'ready' });
    expect((await getRepository()).checkouts[0].error).toMatch(/Interrupted and rolled back/);
  });

  it('uninstalls a module, with the plan naming what depends on it', async () => {
    const dry = await call('POST', `/api/v1/instances/${instance.id}/modules`, {
      uninstall: ['marina_demo'],
      dryRun: true,
    });
    expect(dry.json().plan).toMatchObject({ uninstall: ['marina_demo'], alsoUninstalled: [] });
    const refused = await call('POST', `/api/v1/instances/${instance.id}/modules`, { uninstall: ['base'] });
    expect(refused.statusCode).toBe(400);
    const applied = await call('POST', `/api/v1/instances/${instance.id}/modules`, { uninstall: ['marina_demo'] });
    expect(applied.statusCode, applied.body).toBe(202);
    await succeeded(applied.json().job.id);
    expect(await stateOf('marina_demo')).toBe('uninstalled');
    expect(await healthOk()).toBe(200);
  });

  it('keeps repositories, hooks and modules to their organization', async () => {
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'other', name: 'Other' });
    const outsider = await memberBrowser(t, admin, 'other', 'eve@other.test', 'owner');
    const asOutsider = as(t, outsider);
    for (const [method, url, body] of [
      ['GET', `/api/v1/repositories/${repository.id}`],
      ['GET', `/api/v1/projects/${projectId}/repositories`],
      ['POST', `/api/v1/projects/${projectId}/repositories`, { url: repo.url, branch: '17.0', name: 'evil' }],
      ['POST', `/api/v1/repositories/${repository.id}/pull`, {}],
      ['POST', `/api/v1/repositories/${repository.id}/fetch`, {}],
      ['PATCH', `/api/v1/repositories/${repository.id}`, { autoUpgrade: false }],
      ['DELETE', `/api/v1/repositories/${repository.id}`],
      ['GET', `/api/v1/instances/${instance.id}/modules`],
      ['POST', `/api/v1/instances/${instance.id}/modules`, { install: ['marina_demo'] }],
    ] as const) {
      const response = await asOutsider(method, url, body);
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
    const member = await memberBrowser(t, admin, 'acme', 'mo@acme.test', 'member');
    const seen = (await as(t, member)('GET', `/api/v1/repositories/${repository.id}`)).json().repository;
    expect(seen.hook).toBeNull();
    expect((await as(t, member)('POST', `/api/v1/repositories/${repository.id}/pull`, {})).statusCode).toBe(403);
  });

  it('over ssh: the host key is pinned when added, and the deploy key is what lets Marina in', async () => {
    const server = await startGitSshServer();
    const remote = await createTestRepository('17.0', server.repos);
    try {
      await writeAddon(remote, 'ssh_demo', { '__manifest__.py': "{'name': 'SSH demo', 'version': '1.0'}\n" });
      await remote.commit('ssh demo');
      await remote.push();
      await server.chown();
      // The test sshd listens on loopback, an internal range only a platform admin can allow.
      expect((await call('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] })).statusCode).toBe(200);
      const created = await call('POST', `/api/v1/projects/${projectId}/repositories`, {
        url: server.url(remote.bare),
        branch: '17.0',
        name: 'private',
      });
      expect(created.statusCode, created.body).toBe(201);
      const made = created.json().repository;
      expect(made.hostKeys.some((k: string) => k.includes(server.fingerprint))).toBe(true);
      // Not yet a deploy key on the server: the clone is refused, and says what to do.
      const first = await finished(created.json().jobs[0].id);
      expect(first.job.status).toBe('failed');
      expect(first.job.error?.message).toMatch(/deploy key|publickey|denied/i);
      expect(await healthOk()).toBe(200);
      await server.authorize(made.deployKey);
      const pulled = await call('POST', `/api/v1/repositories/${made.id}/pull`, { instanceId: instance.id });
      await succeeded(pulled.json().jobs[0].id);
      const described = (await call('GET', `/api/v1/repositories/${made.id}`)).json().repository;
      expect(described.checkouts[0]).toMatchObject({ status: 'ready', addons: ['ssh_demo'] });
      await succeeded((await call('DELETE', `/api/v1/repositories/${made.id}`)).json().jobs[0].id);
    } finally {
      await remote.cleanup();
      await server.stop();
    }
  });

  it('removing the repository removes its folder and mount', async () => {
    const removed = await call('DELETE', `/api/v1/repositories/${repository.id}`);
    expect(removed.statusCode, removed.body).toBe(202);
    await succeeded(removed.json().jobs[0].id);
    const dir = join(t.config.dataDir, 'addons', instance.id, 'acme-addons');
    expect(existsSync(dir)).toBe(false);
    const container = await docker
      .getContainer(`${namespace}-odoo-${instance.id.replace(/-/g, '').slice(0, 16)}`)
      .inspect();
    expect(container.Mounts.some((m) => m.Destination.startsWith('/mnt/extra-addons/'))).toBe(false);
    expect(await healthOk()).toBe(200);
  });
});
