import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitSshTestServer, startGitSshServer } from '../../../test/helpers/git-ssh-server.js';
import { Git, type GitAccess, generateDeployKey, hostKeyFingerprints, scanHostKeys } from './git.js';
import { expectReason, git, prepareGitTestHome, repository, root, run, sshSkipped } from './git-test-support.js';

if (sshSkipped)
  console.warn(`\n*** SKIPPING the git-over-ssh tests: ${sshSkipped}. Run the tests as root to include them. ***\n`);

prepareGitTestHome();

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
