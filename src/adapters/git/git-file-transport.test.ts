import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Git, scanHostKeys } from './git.js';
import { expectReason, fileAccess, git, hashOf, prepareGitTestHome, repository, root } from './git-test-support.js';

prepareGitTestHome();

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
