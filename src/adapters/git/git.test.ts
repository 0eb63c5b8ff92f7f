import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GitSshTestServer,
  gitSshServerUnavailable,
  startGitSshServer,
} from '../../../test/helpers/git-ssh-server.js';
import {
  type CommitInfo,
  Git,
  type GitAccess,
  GitError,
  type GitFailure,
  generateDeployKey,
  hostKeyFingerprints,
  releaseGitRuntime,
  scanHostKeys,
} from './git.js';

const run = promisify(execFile);

const sshSkipped = gitSshServerUnavailable();
if (sshSkipped)
  console.warn(`\n*** SKIPPING the git-over-ssh tests: ${sshSkipped}. Run the tests as root to include them. ***\n`);

let root: string;
/** The test's own git setup (not the adapter's): an identity, file transport, no ownership checks. */
let testEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'marina-git-test-'));
  const config = join(root, 'test-gitconfig');
  await writeFile(
    config,
    [
      '[user]',
      '\tname = Test Author',
      '\temail = author@example.com',
      '[init]',
      '\tdefaultBranch = main',
      '[protocol "file"]',
      '\tallow = always',
      '[safe]',
      '\tdirectory = *',
      '',
    ].join('\n'),
  );
  testEnv = {
    PATH: process.env.PATH,
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: config,
    LC_ALL: 'C',
  };
});

afterAll(async () => {
  await releaseGitRuntime();
  await rm(root, { recursive: true, force: true });
});

/** git as the test uses it to prepare repositories. */
async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, env: testEnv });
  return stdout.trim();
}

/** A bare repository with a working clone next to it to commit and push from. */
async function repository(parent: string, name: string, files: Record<string, string> = { 'README.md': name }) {
  const bare = join(parent, `${name}.git`);
  const work = join(root, `work-${name}-${Math.random().toString(36).slice(2, 8)}`);
  await git(parent, 'init', '-q', '--bare', '-b', 'main', bare);
  await git(root, 'clone', '-q', bare, work);
  await git(work, 'checkout', '-q', '-b', 'main');
  const repo = {
    bare,
    work,
    url: `file://${bare}`,
    async commit(changes: Record<string, string>, message: string): Promise<string> {
      for (const [path, content] of Object.entries(changes)) {
        await mkdir(dirname(join(work, path)), { recursive: true });
        await writeFile(join(work, path), content);
      }
      await git(work, 'add', '-A');
      await git(work, 'commit', '-q', '-m', message);
      return git(work, 'rev-parse', 'HEAD');
    },
    async push(branch = 'main', force = false): Promise<void> {
      await git(work, 'push', '-q', ...(force ? ['--force'] : []), 'origin', `HEAD:refs/heads/${branch}`);
    },
  };
  await repo.commit(files, `Initial ${name}`);
  await repo.push();
  return repo;
}

const fileAccess: GitAccess = { allowFile: true };

async function failure(promise: Promise<unknown>): Promise<GitError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GitError) return error;
    throw error;
  }
  throw new Error('expected a GitError, but the call succeeded');
}

async function expectReason(promise: Promise<unknown>, reason: GitFailure): Promise<GitError> {
  const error = await failure(promise);
  expect(error.reason, `${error.message}\n${error.stderr}`).toBe(reason);
  return error;
}

const hashOf = (c: CommitInfo) => c.hash;

describe('git over file://', { timeout: 60_000 }, () => {
  const gitAdapter = new Git();

  it('clones a branch and reads its head, history and status', async () => {
    const repo = await repository(root, 'basic', { 'addon_a/__manifest__.py': "{'name': 'A'}" });
    const second = await repo.commit({ 'addon_a/models.py': 'x = 1\n' }, 'Add models');
    const dir = join(root, 'checkout-basic');
    const head = await gitAdapter.clone(repo.url, 'main', dir, fileAccess, { submodules: false });
    expect(head).toMatchObject({ author: 'Test Author', email: 'author@example.com', subject: 'Initial basic' });
    expect(head.hash).toMatch(/^[0-9a-f]{40}$/);
    expect(new Date(head.date).toString()).not.toBe('Invalid Date');
    await repo.push();
    expect(await gitAdapter.remoteHead(repo.url, 'main', fileAccess)).toBe(second);
    expect(await gitAdapter.remoteHead(repo.url, 'no-such-branch', fileAccess)).toBeNull();

    const status = await gitAdapter.status(dir, 'main');
    expect(status).toMatchObject({ branch: 'main', dirty: false, ahead: 0, behind: 0, diverged: false });
    expect(status.remoteHead).toBe(head.hash);

    await gitAdapter.fetch(dir, 'main', fileAccess);
    const fetched = await gitAdapter.status(dir, 'main');
    expect(fetched).toMatchObject({ ahead: 0, behind: 1, diverged: false, remoteHead: second });
    expect(fetched.head.hash).toBe(head.hash);

    const moved = await gitAdapter.fastForward(dir, 'main', fileAccess, { submodules: false });
    expect(moved).toEqual({ from: head.hash, to: second });
    expect(await readFile(join(dir, 'addon_a/models.py'), 'utf8')).toBe('x = 1\n');
    expect((await gitAdapter.log(dir, 10)).map(hashOf)).toEqual([second, head.hash]);
    expect((await gitAdapter.log(dir, 1)).map((c) => c.subject)).toEqual(['Add models']);

    // Nothing new: a fast-forward is a no-op.
    expect(await gitAdapter.fastForward(dir, 'main', fileAccess, { submodules: false })).toEqual({
      from: second,
      to: second,
    });
  });

  it('reports dirty, ahead, behind and diverged; refuses to fast-forward a changed or diverged checkout', async () => {
    const repo = await repository(root, 'states', { 'a.txt': 'one\n' });
    const dir = join(root, 'checkout-states');
    const first = await gitAdapter.clone(repo.url, 'main', dir, fileAccess, { submodules: false });

    // Python's bytecode next to the code does not make a checkout dirty; a changed file does.
    await mkdir(join(dir, '__pycache__'));
    await writeFile(join(dir, '__pycache__', 'a.cpython-311.pyc'), 'bytecode');
    expect((await gitAdapter.status(dir, 'main')).dirty).toBe(false);
    await writeFile(join(dir, 'a.txt'), 'changed here\n');
    const dirty = await gitAdapter.status(dir, 'main');
    expect(dirty.dirty).toBe(true);
    expect(dirty.changes).toEqual([' M a.txt']);
    const second = await repo.commit({ 'a.txt': 'two\n' }, 'Two');
    await repo.push();
    await gitAdapter.fetch(dir, 'main', fileAccess);
    const refused = await expectReason(
      gitAdapter.fastForward(dir, 'main', fileAccess, { submodules: false }),
      'diverged',
    );
    expect(refused.message).toMatch(/local changes.*a\.txt/);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('changed here\n');

    // A rollback puts the checkout back at a commit and removes what git does not track.
    await writeFile(join(dir, 'stray.txt'), 'stray');
    await gitAdapter.resetTo(dir, first.hash, fileAccess, { submodules: false });
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(existsSync(join(dir, 'stray.txt'))).toBe(false);
    expect(existsSync(join(dir, '__pycache__'))).toBe(false);
    expect(await gitAdapter.status(dir, 'main')).toMatchObject({ dirty: false, ahead: 0, behind: 1 });

    // The server's history is rewritten (a force-push): a third commit on top of the first.
    await git(repo.work, 'reset', '-q', '--hard', first.hash);
    const rewritten = await repo.commit({ 'a.txt': 'rewritten\n' }, 'Rewritten');
    await repo.push('main', true);
    // The checkout moves to the old second commit first, then fetches the rewritten history.
    expect(await gitAdapter.fastForward(dir, 'main', fileAccess, { submodules: false })).toEqual({
      from: first.hash,
      to: second,
    });
    await gitAdapter.fetch(dir, 'main', fileAccess);
    const diverged = await gitAdapter.status(dir, 'main');
    expect(diverged).toMatchObject({ ahead: 1, behind: 1, diverged: true, remoteHead: rewritten, dirty: false });
    const error = await expectReason(
      gitAdapter.fastForward(dir, 'main', fileAccess, { submodules: false }),
      'diverged',
    );
    expect(error.message).toMatch(/force-push/);
    expect((await gitAdapter.status(dir, 'main')).head.hash).toBe(second);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('two\n');

    // Rolling back to a commit of the new history makes it fast-forwardable again.
    await gitAdapter.resetTo(dir, first.hash, fileAccess, { submodules: false });
    expect(await gitAdapter.fastForward(dir, 'main', fileAccess, { submodules: false })).toEqual({
      from: first.hash,
      to: rewritten,
    });

    // Local commits are not something Marina fast-forwards over either.
    await git(dir, 'commit', '-q', '--allow-empty', '-m', 'Local');
    expect((await gitAdapter.status(dir, 'main')).ahead).toBe(1);
    expect(
      (await expectReason(gitAdapter.fastForward(dir, 'main', fileAccess, { submodules: false }), 'diverged')).message,
    ).toMatch(/1 commit\(s\) that are not on origin\/main/);

    await expectReason(gitAdapter.resetTo(dir, 'f'.repeat(40), fileAccess, { submodules: false }), 'other');
    await expectReason(gitAdapter.resetTo(dir, 'HEAD~1', fileAccess, { submodules: false }), 'other');
  });

  it('names a missing branch, a missing repository, a tag and a non-empty folder', async () => {
    const repo = await repository(root, 'errors');
    await git(repo.work, 'tag', 'v1');
    await git(repo.work, 'push', '-q', 'origin', 'v1');
    const dir = join(root, 'checkout-errors');
    const missing = await expectReason(
      gitAdapter.clone(repo.url, 'nope', dir, fileAccess, { submodules: false }),
      'branch-missing',
    );
    expect(missing.message).toContain('"nope"');
    expect(existsSync(dir)).toBe(false);
    // --branch would take a tag and detach HEAD: not a branch.
    await expectReason(gitAdapter.clone(repo.url, 'v1', dir, fileAccess, { submodules: false }), 'branch-missing');
    expect(existsSync(dir)).toBe(false);
    await expectReason(gitAdapter.remoteHead(`file://${root}/missing.git`, 'main', fileAccess), 'repository-missing');

    // An empty folder is fine and is left in place (empty) when the clone fails.
    await mkdir(dir);
    await expectReason(gitAdapter.clone(repo.url, 'nope', dir, fileAccess, { submodules: false }), 'branch-missing');
    expect(await readdir(dir)).toEqual([]);
    await gitAdapter.clone(repo.url, 'main', dir, fileAccess, { submodules: false });
    const again = await expectReason(
      gitAdapter.clone(repo.url, 'main', dir, fileAccess, { submodules: false }),
      'other',
    );
    expect(again.message).toMatch(/not empty/);

    await gitAdapter.fetch(dir, 'main', fileAccess);
    await expectReason(gitAdapter.fetch(dir, 'gone', fileAccess), 'branch-missing');
    await expectReason(gitAdapter.status(join(root, 'not-a-checkout'), 'main'), 'other');
  });

  it('refuses file:// when local repositories are not allowed, without running git', async () => {
    const repo = await repository(root, 'local');
    const error = await expectReason(gitAdapter.remoteHead(repo.url, 'main', { allowFile: false }), 'protocol');
    expect(error.message).toMatch(/a platform admin allows them per organization/);
    await expectReason(
      gitAdapter.clone(repo.url, 'main', join(root, 'checkout-local'), { allowFile: false }, { submodules: false }),
      'protocol',
    );
    expect(existsSync(join(root, 'checkout-local'))).toBe(false);
  });

  it('never follows a local (file://) submodule, even where local repositories are allowed', async () => {
    // A local submodule could name any repository on Marina's disk: another tenant's checkout.
    const lib = await repository(root, 'lib', { 'lib_addon/__manifest__.py': "{'name': 'Lib'}" });
    const parent = await repository(root, 'super');
    await git(parent.work, 'submodule', 'add', '-q', lib.url, 'lib');
    await git(parent.work, 'commit', '-q', '-m', 'Add lib');
    const withLib = await git(parent.work, 'rev-parse', 'HEAD');
    await parent.push();

    const without = join(root, 'checkout-super-plain');
    await gitAdapter.clone(parent.url, 'main', without, fileAccess, { submodules: false });
    expect(await readdir(join(without, 'lib'))).toEqual([]);

    const dir = join(root, 'checkout-super');
    await expectReason(gitAdapter.clone(parent.url, 'main', dir, fileAccess, { submodules: true }), 'protocol');
    expect(existsSync(dir)).toBe(false);
    // Nor by a rollback that asks for submodules, nor through a plain path instead of file://.
    await expectReason(gitAdapter.resetTo(without, withLib, fileAccess, { submodules: true }), 'protocol');
    expect(existsSync(join(without, 'lib/lib_addon'))).toBe(false);
    await git(parent.work, 'config', '-f', '.gitmodules', 'submodule.lib.url', lib.bare);
    await git(parent.work, 'commit', '-q', '-am', 'Lib by path');
    await parent.push();
    await expectReason(gitAdapter.clone(parent.url, 'main', dir, fileAccess, { submodules: true }), 'protocol');
    expect(existsSync(dir)).toBe(false);
  });

  it.each([
    ['an ext:: submodule', (marker: string) => `ext::sh -c touch% ${marker}`],
    ['a submodule URL carrying an ssh option', (marker: string) => `ssh://-oProxyCommand=touch%20${marker}/x`],
  ])('refuses %s and never runs its command', async (label, evilUrl) => {
    const slug = label.replace(/\W+/g, '-');
    const marker = join(root, `marker-${slug}`);
    const lib = await repository(root, `target-${slug}`);
    const libHead = await git(lib.work, 'rev-parse', 'HEAD');
    const parent = await repository(root, `evil-${slug}`);
    await writeFile(join(parent.work, '.gitmodules'), `[submodule "x"]\n\tpath = x\n\turl = ${evilUrl(marker)}\n`);
    await git(parent.work, 'update-index', '--add', '--cacheinfo', `160000,${libHead},x`);
    await git(parent.work, 'add', '.gitmodules');
    await git(parent.work, 'commit', '-q', '-m', 'An evil submodule');
    const evilHead = await git(parent.work, 'rev-parse', 'HEAD');
    await parent.push();
    const dir = join(root, `checkout-${slug}`);
    await expectReason(gitAdapter.clone(parent.url, 'main', dir, fileAccess, { submodules: true }), 'protocol');
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(dir)).toBe(false);

    // Without submodules the superproject clones; a later rollback asking for them still refuses.
    await gitAdapter.clone(parent.url, 'main', dir, fileAccess, { submodules: false });
    await expectReason(gitAdapter.resetTo(dir, evilHead, fileAccess, { submodules: true }), 'protocol');
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses URLs and branches that git would read as options, without running git', async () => {
    const marker = join(root, 'option-marker');
    // A "git" that leaves a trace when it runs at all.
    const fakeGit = join(root, 'fake-git');
    await writeFile(fakeGit, `#!/bin/sh\ntouch ${marker}\nexit 1\n`);
    await chmod(fakeGit, 0o755);
    const fake = new Git({ gitBinary: fakeGit });
    const proxy = `-oProxyCommand=touch ${marker}`;
    for (const url of [
      proxy,
      '-oProxyCommand=touch',
      `ssh://${proxy}/repo.git`,
      `ssh://-oProxyCommand=touch/repo.git`,
      `git@-oProxyCommand=x:repo.git`,
      `ext::sh -c touch% ${marker}`,
      'fd::17',
      '--upload-pack=touch /tmp/x',
      'file:///tmp/x.git',
    ]) {
      await expectReason(fake.remoteHead(url, 'main', { allowFile: false }), 'protocol');
      await expectReason(
        fake.clone(url, 'main', join(root, 'never'), { allowFile: false }, { submodules: false }),
        'protocol',
      );
    }
    for (const branch of ['-b', '--upload-pack=x', 'a..b', 'a b', '', 'HEAD']) {
      await expectReason(fake.remoteHead('https://example.com/x.git', branch, { allowFile: false }), 'other');
      await expectReason(fake.fetch(join(root, 'never'), branch, fileAccess), 'other');
    }
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(root, 'never'))).toBe(false);
  });

  it('stops a command that hangs, with every process it started', async () => {
    // Accepts the connection and never says a word: ssh waits for a banner forever.
    // (Reading, so that the end of the connection is seen.)
    const silent: Server = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const quick = new Git({ timeoutMs: 1_500 });
      const started = Date.now();
      const error = await expectReason(
        quick.remoteHead(`ssh://git@127.0.0.1:${port}/repo.git`, 'main', { allowFile: false }),
        'timeout',
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(error.message).toMatch(/did not finish in time.*limit 2 s/);
      // The ssh child was killed with git: nothing is still connected.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const connections = await new Promise<number>((resolve) => silent.getConnections((_, n) => resolve(n)));
      expect(connections).toBe(0);
    } finally {
      silent.close();
    }
  });

  it('reports a port nobody listens on as a network failure', async () => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await expectReason(
      gitAdapter.remoteHead(`ssh://git@127.0.0.1:${port}/r.git`, 'main', { allowFile: false }),
      'network',
    );
    await expectReason(scanHostKeys({ host: '127.0.0.1', port, address: '127.0.0.1' }, 2_000), 'network');
  });
});

describe('deploy keys and host keys', () => {
  it('generates an OpenSSH ed25519 key pair ssh-keygen agrees with', async () => {
    const key = await generateDeployKey('marina-deploy-acme-web');
    expect(key.privateKey).toMatch(
      /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/,
    );
    expect(key.publicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* marina-deploy-acme-web$/);
    const file = join(root, 'deploy-key');
    await writeFile(file, key.privateKey, { mode: 0o600 });
    const { stdout } = await run('ssh-keygen', ['-y', '-f', file]);
    expect(stdout.trim().split(' ').slice(0, 2)).toEqual(key.publicKey.split(' ').slice(0, 2));
    await expect(generateDeployKey('bad\ncomment')).rejects.toThrow(GitError);
  });

  it('prints the fingerprints ssh-keygen prints for known_hosts lines', async () => {
    const lines: string[] = [];
    for (const type of ['ed25519', 'ecdsa', 'rsa']) {
      const file = join(root, `host-${type}`);
      await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
      const [kind, blob] = (await readFile(`${file}.pub`, 'utf8')).trim().split(' ');
      lines.push(`[git.example.com]:2222 ${kind} ${blob}`);
    }
    const knownHosts = `# scanned\n${lines.join('\n')}\n`;
    const file = join(root, 'known_hosts');
    await writeFile(file, knownHosts);
    const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]);
    const expected = stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[1]);
    expect(await hostKeyFingerprints(knownHosts)).toEqual(expected);
  });
});

describe.skipIf(sshSkipped)('git over ssh', { timeout: 120_000 }, () => {
  let server: GitSshTestServer;
  let deployKey: { privateKey: string; publicKey: string };
  let knownHosts: string;
  let access: GitAccess;
  const gitAdapter = new Git();

  beforeAll(async () => {
    server = await startGitSshServer();
    deployKey = await generateDeployKey('marina-test-deploy');
    await server.authorize(deployKey.publicKey);
    knownHosts = await scanHostKeys({ host: server.host, port: server.port, address: server.host });
    access = { privateKey: deployKey.privateKey, knownHosts, allowFile: false };
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('pins the scanned host key of the server', async () => {
    expect(knownHosts).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${server.port} ssh-ed25519 `));
    expect(await hostKeyFingerprints(knownHosts)).toEqual([server.fingerprint]);
  });

  it('clones with the deploy key, follows the branch and rolls back', async () => {
    const repo = await repository(server.repos, 'web', { 'web_x/__manifest__.py': "{'name': 'X'}" });
    await repo.commit({ 'web_x/a.py': '' }, 'Feature');
    await repo.push('17.0');
    await server.chown();
    const url = server.url(repo.bare);
    const initial = await git(repo.work, 'rev-parse', 'HEAD~1');
    expect(await gitAdapter.remoteHead(url, 'main', access)).toBe(initial);
    expect(await gitAdapter.remoteHead(url, '17.0', access)).toBe(await git(repo.work, 'rev-parse', 'HEAD'));
    expect(await gitAdapter.remoteHead(url, 'missing', access)).toBeNull();

    const dir = join(root, 'ssh-web');
    const head = await gitAdapter.clone(url, 'main', dir, access, { submodules: false });
    expect(head.hash).toBe(initial);
    expect(existsSync(join(dir, 'web_x/__manifest__.py'))).toBe(true);

    await git(repo.work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
    await server.chown();
    await gitAdapter.fetch(dir, 'main', access);
    expect(await gitAdapter.status(dir, 'main')).toMatchObject({ behind: 1, ahead: 0 });
    const moved = await gitAdapter.fastForward(dir, 'main', access, { submodules: false });
    expect(moved.from).toBe(initial);
    expect(existsSync(join(dir, 'web_x/a.py'))).toBe(true);
    await gitAdapter.resetTo(dir, moved.from, access, { submodules: false });
    expect(existsSync(join(dir, 'web_x/a.py'))).toBe(false);
  });

  it('names an unauthorized key, a missing key and a missing repository', async () => {
    const repo = await repository(server.repos, 'private');
    await server.chown();
    const url = server.url(repo.bare);
    const stranger = await generateDeployKey('stranger');
    const dir = join(root, 'ssh-private');
    const error = await expectReason(
      gitAdapter.clone(url, 'main', dir, { ...access, privateKey: stranger.privateKey }, { submodules: false }),
      'auth',
    );
    expect(error.message).toMatch(/deploy key/);
    expect(error.message).not.toContain('PRIVATE KEY');
    expect(error.stderr).not.toContain(stranger.privateKey.split('\n')[1] as string);
    expect(existsSync(dir)).toBe(false);
    // Without a key, root's own keys and agent are never offered.
    await expectReason(gitAdapter.remoteHead(url, 'main', { knownHosts, allowFile: false }), 'auth');
    await expectReason(
      gitAdapter.remoteHead(server.url(`${server.repos}/nothing.git`), 'main', access),
      'repository-missing',
    );
  });

  it('refuses a server whose host key does not match the pinned one, and nothing is cloned', async () => {
    const repo = await repository(server.repos, 'pinned');
    await server.chown();
    const url = server.url(repo.bare);
    const other = join(root, 'other-host-key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const [kind, blob] = (await readFile(`${other}.pub`, 'utf8')).trim().split(' ');
    const wrong = `[127.0.0.1]:${server.port} ${kind} ${blob}\n`;
    const dir = join(root, 'ssh-pinned');
    const error = await expectReason(
      gitAdapter.clone(url, 'main', dir, { ...access, knownHosts: wrong }, { submodules: false }),
      'host-key',
    );
    expect(error.message).toMatch(/host key/);
    expect(existsSync(dir)).toBe(false);
    // Nothing pinned is no exception: strict checking refuses an unknown host.
    await expectReason(gitAdapter.remoteHead(url, 'main', { ...access, knownHosts: '' }), 'host-key');
    await expectReason(
      gitAdapter.remoteHead(url, 'main', { privateKey: deployKey.privateKey, allowFile: false }),
      'host-key',
    );
  });

  it('clones submodules when asked and updates them on a fast-forward and a rollback', async () => {
    const lib = await repository(server.repos, 'lib', { 'lib_addon/__manifest__.py': "{'name': 'Lib'}" });
    const parent = await repository(server.repos, 'super');
    // Relative, as on GitHub: the submodule comes over ssh like its superproject.
    await git(parent.work, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', '../lib.git', 'lib');
    await git(parent.work, 'commit', '-q', '-m', 'Add lib');
    const withLib = await git(parent.work, 'rev-parse', 'HEAD');
    await parent.push();
    await server.chown();
    const url = server.url(parent.bare);

    const without = join(root, 'ssh-super-plain');
    await gitAdapter.clone(url, 'main', without, access, { submodules: false });
    expect(await readdir(join(without, 'lib'))).toEqual([]);

    const dir = join(root, 'ssh-super');
    await gitAdapter.clone(url, 'main', dir, access, { submodules: true });
    expect(await readFile(join(dir, 'lib/lib_addon/__manifest__.py'), 'utf8')).toBe("{'name': 'Lib'}");

    // The library moves on and the superproject follows it.
    const libNext = await lib.commit({ 'lib_addon/extra.py': 'y = 2\n' }, 'Lib extra');
    await lib.push();
    await git(join(parent.work, 'lib'), '-c', 'protocol.file.allow=always', 'pull', '-q', 'origin', 'main');
    await git(parent.work, 'commit', '-q', '-am', 'Bump lib');
    await parent.push();
    await server.chown();
    await gitAdapter.fetch(dir, 'main', access);
    await gitAdapter.fastForward(dir, 'main', access, { submodules: true });
    expect(await git(join(dir, 'lib'), 'rev-parse', 'HEAD')).toBe(libNext);
    expect(existsSync(join(dir, 'lib/lib_addon/extra.py'))).toBe(true);

    await writeFile(join(dir, 'lib/lib_addon/stray.py'), 'stray');
    await gitAdapter.resetTo(dir, withLib, access, { submodules: true });
    expect(existsSync(join(dir, 'lib/lib_addon/extra.py'))).toBe(false);
    expect(existsSync(join(dir, 'lib/lib_addon/stray.py'))).toBe(false);
    expect((await gitAdapter.status(dir, 'main')).dirty).toBe(false);
  });

  it('follows a relative submodule over ssh, and refuses a file:// submodule when local repositories are not allowed', async () => {
    const lib = await repository(server.repos, 'shared', { 'shared_addon/__manifest__.py': '{}' });
    const parent = await repository(server.repos, 'project');
    // As on GitHub: the submodule lives next to the superproject.
    await git(parent.work, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', '../shared.git', 'shared');
    await git(parent.work, 'commit', '-q', '-m', 'Add shared');
    await parent.push();
    const local = await repository(server.repos, 'local-sub');
    await git(local.work, 'submodule', 'add', '-q', lib.url, 'shared');
    await git(local.work, 'commit', '-q', '-m', 'Add shared by path');
    await local.push();
    await server.chown();

    const dir = join(root, 'ssh-project');
    await gitAdapter.clone(server.url(parent.bare), 'main', dir, access, { submodules: true });
    expect(existsSync(join(dir, 'shared/shared_addon/__manifest__.py'))).toBe(true);

    const refused = join(root, 'ssh-local-sub');
    await expectReason(
      gitAdapter.clone(server.url(local.bare), 'main', refused, access, { submodules: true }),
      'protocol',
    );
    expect(existsSync(refused)).toBe(false);
  });
});
