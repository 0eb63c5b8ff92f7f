import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeNamespace, requireDocker, testNamespace } from './helpers/docker.js';
import {
  allowLocalRepositories,
  createTestRepository,
  demoAddon,
  type TestRepository,
  writeAddon,
} from './helpers/git-repo.js';
import {
  type CliResult,
  cliMarinaEnv,
  marina,
  requireBuild,
  type Server,
  setUpAcmeWithCli,
  startServer,
} from './helpers/process.js';

/**
 * `marina repos …` and `marina modules …` with the real `marina` process, the real git CLI (a bare
 * repository reached as file://), Docker, PostgreSQL and the Odoo stand-in.
 */
const namespace = testNamespace();
let dir: string;
let env: NodeJS.ProcessEnv;
let url: string;
let server: Server;
let repo: TestRepository;
const PASSWORD = 'correct horse battery staple';
const INSTANCE = 'acme/erp/main';
const REPO = 'acme/erp/acme-addons';
const HASH = '[0-9a-f]{12}';

async function cli(args: string[], input?: string): Promise<CliResult> {
  return marina(args, env, input);
}

/** The command succeeded; its output is the assertion message otherwise. */
async function ok(args: string[], input?: string): Promise<CliResult> {
  const result = await cli(args, input);
  expect(result.code, `marina ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse((await ok([...args, '--json'])).stdout) as T;
}

/** The API as the platform admin the CLI signed in as (settings have no command). */
async function api(method: string, path: string, body?: unknown): Promise<Response> {
  const { token } = JSON.parse(await readFile(join(dir, 'config', 'marina', 'credentials.json'), 'utf8'));
  return fetch(`${url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface ModuleRow {
  name: string;
  state: string;
  installedVersion: string | null;
  availableVersion: string | null;
  repository: string | null;
}

const moduleOf = async (name: string) =>
  (await json<ModuleRow[]>(['modules', 'ls', INSTANCE])).find((m) => m.name === name);

beforeAll(async () => {
  requireBuild();
  await requireDocker();
  repo = await createTestRepository('17.0');
  await writeAddon(repo, 'marina_demo', demoAddon({ version: '1.0' }));
  await repo.write('README.md', 'Addons of ACME\n');
  await repo.commit('First version of marina_demo');
  await repo.push();
  ({ dir, url, env } = await cliMarinaEnv(namespace, 'marina-repos-cli-'));
  server = startServer(env);
  await server.waitFor('Marina is listening');
  await setUpAcmeWithCli(env, url, PASSWORD);
  await ok(['instances', 'create', 'main', '--project', 'acme/erp', '--admin-login', 'a@acme.test', '--memory', '768']);
  const acme = ((await (await api('GET', '/organizations/acme')).json()) as { organization: { id: string } })
    .organization;
  await allowLocalRepositories(
    async (method, path, body) => {
      const answer = await api(method, path, body);
      return { statusCode: answer.status, body: await answer.text() };
    },
    acme.id,
    '',
  );
}, 240_000);

afterAll(async () => {
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  await removeNamespace(namespace);
  await repo?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('marina repos and marina modules', { timeout: 300_000 }, () => {
  it('refuses bad input with a clear message and changes nothing', async () => {
    const usage: [string[], RegExp][] = [
      [['repos', 'add', 'acme/erp', repo.url], /required option '--branch <branch>'/],
      [['repos', 'add', 'acme/erp', repo.url, '--branch', '17.0', '--branch-for', 'main'], /--branch-for: "main"/],
      [['repos', 'add', 'acme/erp', repo.url, '--branch', '17.0', '--branch-for', 'nope=x'], /no instance "nope"/],
      [['repos', 'add', 'nowhere/erp', repo.url, '--branch', '17.0'], /No project "nowhere\/erp"/],
      [['repos', 'status', 'acme/erp/nothing'], /No repository "acme\/erp\/nothing"/],
      [['modules', 'install', INSTANCE, 'Bad-Name', '--yes'], /Not a module name: "Bad-Name"/],
      [['modules', 'install', INSTANCE], /missing required argument 'modules'/],
      // Without "--", the option-like URL is an unknown option to the CLI itself.
      [['repos', 'add', 'acme/erp', '-oProxyCommand=x', '--branch', '17.0'], /unknown option '-oProxyCommand=x'/],
    ];
    for (const [args, message] of usage) {
      const result = await cli(args);
      expect(result.code, `marina ${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    // Past the CLI ("--" ends its options), the server refuses it and says why: a 400 from the API
    // is a usage error (exit 2), as for every command (exitCodeFor in src/cli/program.ts).
    const injected = await cli(['repos', 'add', 'acme/erp', '--branch', '17.0', '--', '-oProxyCommand=x']);
    expect(injected.code, injected.stderr).toBe(2);
    expect(injected.stderr).toMatch(/marina: The repository URL must not start with "-".*\[MARINA_E_VALIDATION\]/);
    expect(injected.stdout).toBe('');
    expect((await ok(['repos', 'ls', 'acme/erp'])).stdout.trim()).toBe('(none)');
  });

  it('adds a repository: prints the deploy key and the webhook, follows the clone', async () => {
    const added = await ok(['repos', 'add', 'acme/erp', repo.url, '--branch', '17.0', '--name', 'acme-addons']);
    expect(added.stdout).toMatch(/Added repository acme-addons \(file:\/\/.*, branch 17\.0\)/);
    expect(added.stdout).toMatch(/Deploy key .*\n {2}ssh-ed25519 AAAA\S+ marina-deploy-erp-acme-addons/);
    expect(added.stdout).toContain(`URL:    ${url}/api/v1/hooks/git/`);
    expect(added.stdout).toMatch(/Secret: \S{20,}/);
    expect(added.stdout).toMatch(new RegExp(`erp/main: cloned at ${HASH}`));
    expect(added.stdout).toContain('Done.');
    expect(added.stderr).toMatch(/100%/);

    const head = await repo.git('rev-parse', 'HEAD');
    const listed = await ok(['repos', 'ls', 'acme/erp']);
    expect(listed.stdout).toMatch(/^NAME +URL +BRANCH +INSTANCE +COMMIT +STATUS +ID$/m);
    expect(listed.stdout).toMatch(
      new RegExp(`^acme-addons +${repo.url.replace(/[.]/g, '\\.')} +17\\.0 +main +${head.slice(0, 12)} +ready +`, 'm'),
    );

    // The same folder twice: the API's conflict, exit 1.
    const twice = await cli(['repos', 'add', 'acme/erp', repo.url, '--branch', '17.0', '--name', 'acme-addons']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/already has a repository in the folder "acme-addons".*\[MARINA_E_CONFLICT\]/);
  });

  it('lists the modules and installs one after showing the plan', async () => {
    const listed = await ok(['modules', 'ls', INSTANCE]);
    expect(listed.stdout).toMatch(/^NAME +STATE +INSTALLED +AVAILABLE +REPOSITORY/m);
    // In the addons, not installed: "available" until Odoo lists it, then "uninstalled".
    expect(listed.stdout).toMatch(/^marina_demo +(available|uninstalled) +- +17\.0\.1\.0 +acme-addons +/m);
    const found = await ok(['modules', 'ls', INSTANCE, '--search', 'demo']);
    expect(
      found.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(' ')[0]),
    ).toEqual(['NAME', 'marina_demo']);
    const installedOnly = await json<ModuleRow[]>(['modules', 'ls', INSTANCE, '--state', 'installed']);
    expect(installedOnly.map((m) => m.name)).toContain('base');
    expect(installedOnly.map((m) => m.name)).not.toContain('marina_demo');

    // No terminal to ask on and no --yes: the plan is shown, nothing is done.
    const unasked = await cli(['modules', 'install', INSTANCE, 'marina_demo']);
    expect(unasked.code).toBe(2);
    expect(unasked.stdout).toMatch(/install: +marina_demo/);
    expect(unasked.stderr).toContain('Nothing was changed');
    expect((await moduleOf('marina_demo'))?.state).not.toBe('installed');

    const installed = await ok(['modules', 'install', INSTANCE, 'marina_demo', '--yes']);
    expect(installed.stdout).toMatch(/install: +marina_demo/);
    expect(installed.stdout).toContain('Done: installed marina_demo.');
    expect(installed.stderr).toMatch(/100%/);
    expect(await moduleOf('marina_demo')).toMatchObject({ state: 'installed', installedVersion: '17.0.1.0' });

    const again = await cli(['modules', 'install', INSTANCE, 'marina_demo', '--yes']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/Already installed: marina_demo/);
  });

  it('shows a new commit as behind, pulls it and upgrades the module', async () => {
    const before = await repo.git('rev-parse', 'HEAD');
    await writeAddon(repo, 'marina_demo', demoAddon({ version: '1.1', extraField: true }));
    const after = await repo.commit('Add a priority field');
    await repo.push();

    const status = await ok(['repos', 'status', REPO, '--fetch']);
    expect(status.stdout).toMatch(/^main \(development\) — branch 17\.0, ready$/m);
    expect(status.stdout).toMatch(new RegExp(`HEAD +${before.slice(0, 12)} First version of marina_demo`));
    expect(status.stdout).toContain('Ada Developer <ada@acme.test>');
    expect(status.stdout).toMatch(new RegExp(`state +behind 1, remote at ${after.slice(0, 12)}`));
    expect(status.stdout).toContain('addons    marina_demo');
    const described = await json<{ checkouts: { git: { behind: number; ahead: number; diverged: boolean } }[] }>([
      'repos',
      'status',
      REPO,
    ]);
    expect(described.checkouts[0]?.git).toMatchObject({ behind: 1, ahead: 0, diverged: false });

    const pulled = await ok(['repos', 'pull', REPO, '--instance', 'main']);
    expect(pulled.stdout).toContain(`erp/main: ${before.slice(0, 12)} → ${after.slice(0, 12)}; upgraded marina_demo`);
    expect(pulled.stderr).toMatch(/100%/);
    expect(await moduleOf('marina_demo')).toMatchObject({ state: 'installed', installedVersion: '17.0.1.1' });
    expect((await ok(['repos', 'status', REPO])).stdout).toMatch(/state +clean, up to date/);
  });

  it('a failed update exits 1 with its error and the rollback', async () => {
    const good = await repo.git('rev-parse', 'HEAD');
    await repo.write('marina_demo/__manifest__.py', "{'name': 'Marina Demo', 'version': '1.2',\n");
    await repo.commit('Broken manifest');
    await repo.push();
    const failed = await cli(['repos', 'pull', REPO]);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(/erp\/main: the job failed at step "changes":/);
    expect(failed.stderr).toMatch(/marina_demo/);
    expect(failed.stderr).toMatch(/Rolled back/);
    expect(failed.stderr).toMatch(/marina: The update failed for erp\/main \(1 of 1\)\./);
    const listed = await ok(['repos', 'ls', 'acme/erp']);
    expect(listed.stdout).toMatch(new RegExp(`main +${good.slice(0, 12)} +ready, last update failed`));
    // Fixed upstream again, for what follows.
    await writeAddon(repo, 'marina_demo', demoAddon({ version: '1.1', extraField: true }));
    await repo.commit('Fix the manifest');
    await repo.push();
  });

  it('shows an uninstall plan, and removes the repository only when told to', async () => {
    // The plan only: the uninstall itself runs a Python script inside Odoo, which the stand-in
    // image does not have (the real-Odoo tests run it).
    const unasked = await cli(['modules', 'uninstall', INSTANCE, 'marina_demo']);
    expect(unasked.code).toBe(2);
    expect(unasked.stdout).toMatch(/uninstall: +marina_demo/);
    expect(unasked.stdout).not.toContain('also uninstalled');
    expect(unasked.stderr).toContain('Nothing was changed');
    expect((await moduleOf('marina_demo'))?.state).toBe('installed');
    const notInstalled = await cli(['modules', 'upgrade', INSTANCE, 'sale', '--yes']);
    expect(notInstalled.code).toBe(2);
    expect(notInstalled.stderr).toMatch(/Not installed: sale/);

    const unconfirmed = await cli(['repos', 'rm', REPO]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('Not removed');
    const removed = await ok(['repos', 'rm', REPO, '--yes']);
    expect(removed.stdout).toContain('Removed repository acme-addons.');
    expect((await ok(['repos', 'ls', 'acme/erp'])).stdout.trim()).toBe('(none)');
    expect((await cli(['repos', 'status', REPO])).code).toBe(2);
  });
});
