import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect } from 'vitest';
import { gitSshServerUnavailable } from '../../../test/helpers/git-ssh-server.js';
import { type CommitInfo, type GitAccess, GitError, type GitFailure, releaseGitRuntime } from './git.js';

export const run = promisify(execFile);

export const sshSkipped = gitSshServerUnavailable();

export let root: string;
/** The test's own git setup (not the adapter's): an identity, file transport, no ownership checks. */
export let testEnv: NodeJS.ProcessEnv;

/** git as the test uses it to prepare repositories. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, env: testEnv });
  return stdout.trim();
}

/** A bare repository with a working clone next to it to commit and push from. */
export async function repository(parent: string, name: string, files: Record<string, string> = { 'README.md': name }) {
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

export const fileAccess: GitAccess = { allowFile: true };

export async function failure(promise: Promise<unknown>): Promise<GitError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GitError) return error;
    throw error;
  }
  throw new Error('expected a GitError, but the call succeeded');
}

export async function expectReason(promise: Promise<unknown>, reason: GitFailure): Promise<GitError> {
  const error = await failure(promise);
  expect(error.reason, `${error.message}\n${error.stderr}`).toBe(reason);
  return error;
}

export const hashOf = (c: CommitInfo) => c.hash;

/** A scratch home with the test's own git config for each test file; the adapter's runtime is released after. */
export function prepareGitTestHome(): void {
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
}
