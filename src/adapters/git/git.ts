import { lstat, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  COMMIT_FORMAT,
  checkBranch,
  checkDir,
  checkUrl,
  normalizeKey,
  normalizeKnownHosts,
  parseCommits,
} from './checks.js';
import { classifyStderr, type FailureContext, failureMessage, GitError, type GitFailure } from './errors.js';
import { bareOf, curlAddress, type PinnedRemote, pinnedSshConfig } from './pinned.js';
import { execute, privateRuntime, SAFE_PATH } from './process.js';

export { GitError, type GitFailure } from './errors.js';
export { knownHostsName, type PinnedRemote } from './pinned.js';
export { releaseGitRuntime } from './process.js';
export { generateDeployKey, hostKeyFingerprints, scanHostKeys } from './ssh-keys.js';

/**
 * The real git CLI. Every command is an argument array with an explicit environment: no shell, no
 * user or system git config, no hooks, no prompts, and only the https and ssh transports (file
 * when an admin allows it). ssh goes through a fixed wrapper that pins the host keys.
 */
export interface GitAccess {
  /** OpenSSH-format private key (text) for ssh URLs; written to a 0600 file in a private 0700 temp dir only for the command, removed after. */
  privateKey?: string;
  /** known_hosts lines pinned for this repository; ssh runs with StrictHostKeyChecking=yes against exactly these. */
  knownHosts?: string;
  /** Whether file:// (and local paths) may be used, e.g. by submodules; an admin setting. */
  allowFile: boolean;
  /**
   * The remote's address as the outbound guard checked it (adapters/net/outbound.ts): git reaches
   * that address and no other for the remote's host, whatever DNS answers later.
   */
  pinned?: PinnedRemote;
}

export interface CommitInfo {
  hash: string;
  author: string;
  email: string;
  /** ISO 8601, the author date. */
  date: string;
  subject: string;
}

export interface CheckoutStatus {
  /** The checked-out branch; "HEAD" when detached. */
  branch: string;
  head: CommitInfo;
  /** Tracked changes, or untracked files other than Python bytecode. */
  dirty: boolean;
  /** Compared with origin/<branch> as last fetched. */
  ahead: number;
  behind: number;
  diverged: boolean;
  remoteHead: string | null;
  /** Up to 20 changed paths (git status short format), for messages. */
  changes: string[];
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** ls-remote and local commands: nothing should take longer. */
const QUICK_TIMEOUT_MS = 60_000;
const COMMIT = /^[0-9a-f]{7,64}$/;

interface RunOptions {
  cwd?: string;
  access?: GitAccess;
  timeoutMs: number;
  context: FailureContext;
  /** Leaves out submodule.recurse=false: the command recurses on purpose. */
  recurse?: boolean;
  /** Exit codes that are answers, not failures. */
  okCodes?: number[];
}

interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class Git {
  private readonly timeoutMs: number;
  private readonly gitBinary: string;

  constructor(options: { timeoutMs?: number; gitBinary?: string } = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.gitBinary = options.gitBinary ?? '/usr/bin/git';
  }

  private get quickTimeoutMs(): number {
    return Math.min(this.timeoutMs, QUICK_TIMEOUT_MS);
  }

  /** The commit the remote branch points at, or null when the branch does not exist (repository reachable). */
  async remoteHead(url: string, branch: string, access: GitAccess): Promise<string | null> {
    checkUrl(url, access);
    checkBranch(branch);
    const ref = `refs/heads/${branch}`;
    const { stdout } = await this.run(['ls-remote', '--', url, ref], {
      access,
      timeoutMs: this.quickTimeoutMs,
      context: { action: 'read the branches of', url, branch },
    });
    for (const line of stdout.split('\n')) {
      const [hash, name] = line.split('\t');
      // ls-remote matches patterns by their tail: keep the exact ref only.
      if (name === ref && hash && /^[0-9a-f]{40,64}$/.test(hash)) return hash;
    }
    return null;
  }

  /** Clones one branch into dir (must not exist or be empty); with submodules: --recurse-submodules. Returns HEAD. */
  async clone(
    url: string,
    branch: string,
    dir: string,
    access: GitAccess,
    options: { submodules: boolean },
  ): Promise<CommitInfo> {
    checkUrl(url, access);
    checkBranch(branch);
    const target = checkDir(dir);
    let existed = true;
    try {
      const entries = await readdir(target);
      if (entries.length > 0)
        throw new GitError(
          'other',
          `The folder ${target} already exists and is not empty: Marina clones only into a new or empty folder.`,
          '',
        );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      existed = false;
    }
    const context = { action: 'clone', url, branch, dir: target };
    try {
      await this.run(
        [
          'clone',
          '--branch',
          branch,
          '--single-branch',
          '--no-tags',
          ...(options.submodules ? ['--recurse-submodules'] : []),
          '--',
          url,
          target,
        ],
        { access, timeoutMs: this.timeoutMs, context, recurse: options.submodules },
      );
      // --branch also takes a tag, which would leave a detached HEAD.
      const head = await this.currentBranch(target);
      if (head !== branch)
        throw new GitError('branch-missing', failureMessage('branch-missing', context, ''), `HEAD is ${head}`);
      return await this.head(target);
    } catch (error) {
      // A killed git cannot clean up after itself, and a half-cloned folder must not look usable.
      if (existed) await emptyFolder(target);
      else await rm(target, { recursive: true, force: true });
      throw error;
    }
  }

  async fetch(dir: string, branch: string, access: GitAccess): Promise<void> {
    checkBranch(branch);
    const target = checkDir(dir);
    await this.run(
      [
        'fetch',
        '--no-tags',
        '--no-recurse-submodules',
        '--no-write-fetch-head',
        '--',
        'origin',
        `+refs/heads/${branch}:refs/remotes/origin/${branch}`,
      ],
      {
        cwd: target,
        access,
        timeoutMs: this.timeoutMs,
        context: { action: 'fetch new commits into', branch, dir: target },
      },
    );
  }

  /** No network: compares with origin/<branch> as last fetched. */
  async status(dir: string, branch: string): Promise<CheckoutStatus> {
    checkBranch(branch);
    const target = checkDir(dir);
    const local = this.local(target, 'read the status of');
    const current = await this.currentBranch(target);
    const head = await this.head(target);
    const changes = await this.changes(target);
    const remote = await local(['rev-parse', '-q', '--verify', `refs/remotes/origin/${branch}^{commit}`], [1]);
    const remoteHead = remote.code === 0 ? remote.stdout.trim() : null;
    let ahead = 0;
    let behind = 0;
    if (remoteHead) {
      const counts = await local(['rev-list', '--left-right', '--count', `HEAD...${remoteHead}`, '--']);
      const [left, right] = counts.stdout.trim().split(/\s+/).map(Number);
      ahead = left ?? 0;
      behind = right ?? 0;
    }
    return {
      branch: current,
      head,
      dirty: changes.length > 0,
      ahead,
      behind,
      diverged: ahead > 0 && behind > 0,
      remoteHead,
      changes: changes.slice(0, 20),
    };
  }

  /** Fast-forward only to origin/<branch> (after fetch); a diverged or locally-changed checkout → GitError('diverged'). */
  async fastForward(
    dir: string,
    branch: string,
    access: GitAccess,
    options: { submodules: boolean },
  ): Promise<{ from: string; to: string }> {
    const target = checkDir(dir);
    const state = await this.status(target, branch);
    const diverged = (message: string) => new GitError('diverged', message, '');
    if (state.branch !== branch)
      throw diverged(
        `The checkout in ${target} is on ${state.branch === 'HEAD' ? 'no branch' : `branch "${state.branch}"`}, not on "${branch}": roll it back to a commit of "${branch}" or clone it again.`,
      );
    if (state.dirty)
      throw diverged(
        `The checkout in ${target} has local changes (${state.changes.slice(0, 5).join('; ')}${state.changes.length > 5 ? '; …' : ''}): Marina updates only clean checkouts. Roll back to a commit to discard them, or clone again.`,
      );
    if (!state.remoteHead)
      throw new GitError(
        'branch-missing',
        `There is no origin/${branch} in ${target}: fetch first, and check that the branch still exists.`,
        '',
      );
    if (state.ahead > 0)
      throw diverged(
        state.behind > 0
          ? `The history of "${branch}" was rewritten on the server (a force-push): the checkout in ${target} and origin/${branch} have diverged (${state.ahead} local and ${state.behind} remote commits). Nothing was changed; roll back to a commit of the new history or clone again.`
          : `The checkout in ${target} has ${state.ahead} commit(s) that are not on origin/${branch}: Marina does not update a checkout with local commits. Roll back to a commit of origin/${branch} or clone again.`,
      );
    const from = state.head.hash;
    if (state.behind > 0)
      await this.run(['merge', '--ff-only', '--no-edit', '--no-stat', state.remoteHead], {
        cwd: target,
        // Checking out a big update writes many files: the transfer limit, not the quick one.
        timeoutMs: this.timeoutMs,
        context: { action: 'fast-forward', branch, dir: target },
      });
    if (options.submodules) await this.updateSubmodules(target, access, false);
    return { from, to: (await this.head(target)).hash };
  }

  /** Puts the checkout back at a commit (rollback): reset --hard, clean -ffdx, submodules updated when asked. */
  async resetTo(dir: string, commit: string, access: GitAccess, options: { submodules: boolean }): Promise<void> {
    const target = checkDir(dir);
    if (typeof commit !== 'string' || !COMMIT.test(commit))
      throw new GitError('other', 'A commit is given as its hexadecimal hash (7 to 64 lowercase characters).', '');
    const local = this.local(target, 'roll back', true);
    const found = await local(['cat-file', '-e', `${commit}^{commit}`], [1, 128]);
    if (found.code !== 0)
      throw new GitError(
        'other',
        `The commit ${commit} is not in the checkout in ${target}: fetch first, or pick a commit of this branch.`,
        found.stderr,
      );
    await local(['reset', '--hard', '-q', commit, '--']);
    await local(['clean', '-ffdxq']);
    if (options.submodules) await this.updateSubmodules(target, access, true);
  }

  /** Recent commits of HEAD, newest first. */
  async log(dir: string, count: number): Promise<CommitInfo[]> {
    const target = checkDir(dir);
    if (!Number.isInteger(count) || count < 1 || count > 1000)
      throw new GitError('other', 'The number of commits to list is a whole number from 1 to 1000.', '');
    const { stdout } = await this.local(
      target,
      'read the history of',
    )(['log', '-z', `--max-count=${count}`, `--format=${COMMIT_FORMAT}`, 'HEAD', '--']);
    return parseCommits(stdout);
  }

  private async head(dir: string): Promise<CommitInfo> {
    const { stdout } = await this.local(
      dir,
      'read the history of',
    )(['log', '-z', '--max-count=1', `--format=${COMMIT_FORMAT}`, 'HEAD', '--']);
    const [head] = parseCommits(stdout);
    if (!head) throw new GitError('other', `The checkout in ${dir} has no commit.`, '');
    return head;
  }

  private async currentBranch(dir: string): Promise<string> {
    const result = await this.local(dir, 'read the branch of')(['symbolic-ref', '-q', '--short', 'HEAD'], [1]);
    return result.code === 0 ? result.stdout.trim() : 'HEAD';
  }

  /** Changed paths, leaving out the bytecode Python writes next to the code it runs. */
  private async changes(dir: string): Promise<string[]> {
    const { stdout } = await this.local(
      dir,
      'read the status of',
    )([
      '--no-optional-locks',
      'status',
      '--porcelain=v1',
      '-z',
      '--no-renames',
      '--untracked-files=all',
      '--ignore-submodules=untracked',
    ]);
    return stdout
      .split('\0')
      .filter((entry) => entry.length > 3)
      .filter((entry) => {
        if (!entry.startsWith('??')) return true;
        const path = entry.slice(3);
        return !(/(?:^|\/)__pycache__\//.test(path) || /\.py[co]$/.test(path));
      });
  }

  private async updateSubmodules(dir: string, access: GitAccess, clean: boolean): Promise<void> {
    const context = { action: 'update the submodules of', dir };
    const options = { cwd: dir, access, timeoutMs: this.timeoutMs, context, recurse: true };
    // A new commit may point a submodule at another URL.
    await this.run(['submodule', '--quiet', 'sync', '--recursive'], options);
    await this.run(['submodule', '--quiet', 'update', '--init', '--recursive', '--force', '--checkout'], options);
    if (!clean) return;
    for (const submodule of await this.submoduleFolders(dir))
      await this.local(submodule, 'roll back', true)(['clean', '-ffdxq']);
  }

  /** Checked-out submodule folders below dir, recursively. */
  private async submoduleFolders(dir: string): Promise<string[]> {
    const { stdout } = await this.local(dir, 'list the submodules of')(['ls-files', '-z', '--stage']);
    const found: string[] = [];
    for (const entry of stdout.split('\0')) {
      // "<mode> <hash> <stage>\t<path>": gitlinks have mode 160000.
      const tab = entry.indexOf('\t');
      if (!entry.startsWith('160000 ') || tab === -1) continue;
      const path = resolve(dir, entry.slice(tab + 1));
      const rel = relative(dir, path);
      if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
      const stat = await lstat(join(path, '.git')).catch(() => null);
      if (!stat) continue;
      found.push(path, ...(await this.submoduleFolders(path)));
    }
    return found;
  }

  /** A runner for commands that never touch the network; `long` for those that write the work tree. */
  private local(dir: string, action: string, long = false) {
    return (args: string[], okCodes: number[] = []) =>
      this.run(args, {
        cwd: dir,
        timeoutMs: long ? this.timeoutMs : this.quickTimeoutMs,
        context: { action, dir },
        okCodes,
      });
  }

  private async run(args: string[], options: RunOptions): Promise<RunResult> {
    const { home, wrapper, dir: runtimeDir } = await privateRuntime();
    const allowFile = options.access?.allowFile === true;
    const config = [
      'core.hooksPath=/dev/null',
      'core.fsmonitor=false',
      // An empty value clears any helper a config file may name.
      'credential.helper=',
      'protocol.allow=never',
      'protocol.https.allow=always',
      'protocol.ssh.allow=always',
      // "user": the repository itself may be local, its submodules never (git marks their clones
      // as not from the user). A local submodule could name another tenant's checkout on this disk.
      `protocol.file.allow=${allowFile ? 'user' : 'never'}`,
      ...(options.recurse ? [] : ['submodule.recurse=false']),
      // curl connects to the checked address for the remote's host (TLS still checks the name);
      // a redirect would lead to a host nobody checked.
      ...(options.access?.pinned
        ? [
            `http.curloptResolve=${bareOf(options.access.pinned.host)}:${options.access.pinned.port}:${curlAddress(options.access.pinned.address)}`,
            'http.followRedirects=false',
          ]
        : []),
    ];
    const argv = [...config.flatMap((c) => ['-c', c]), ...args];
    const cwd = options.cwd ?? home;
    const env: NodeJS.ProcessEnv = {
      PATH: SAFE_PATH,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      LC_ALL: 'C',
      LANG: 'C',
      TZ: 'UTC',
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      // Overrides protocol.* everywhere, submodules included; with local repositories allowed it is
      // left out, because it would allow file for submodules too (protocol.* above then decides).
      ...(allowFile ? {} : { GIT_ALLOW_PROTOCOL: 'https:ssh' }),
      GIT_SSH: wrapper,
      GIT_SSH_VARIANT: 'ssh',
      // Never walk up from a checkout into some other repository.
      GIT_CEILING_DIRECTORIES: dirname(cwd),
    };
    let accessDir: string | null = null;
    try {
      if (options.access?.privateKey || options.access?.knownHosts !== undefined || options.access?.pinned) {
        accessDir = await mkdtemp(join(runtimeDir, 'access-'));
        if (options.access.pinned) {
          const sshConfig = join(accessDir, 'ssh_config');
          await writeFile(sshConfig, pinnedSshConfig(options.access.pinned), { mode: 0o600, flag: 'wx' });
          env.MARINA_GIT_SSH_CONFIG = sshConfig;
        }
        const knownHosts = join(accessDir, 'known_hosts');
        await writeFile(knownHosts, normalizeKnownHosts(options.access.knownHosts ?? ''), { mode: 0o600, flag: 'wx' });
        env.MARINA_GIT_KNOWN_HOSTS = knownHosts;
        if (options.access.privateKey) {
          const key = join(accessDir, 'key');
          await writeFile(key, normalizeKey(options.access.privateKey), { mode: 0o600, flag: 'wx' });
          env.MARINA_GIT_KEY = key;
        }
      }
      const result = await execute(this.gitBinary, argv, { cwd, env, timeoutMs: options.timeoutMs });
      if (result.timedOut)
        throw new GitError(
          'timeout',
          failureMessage('timeout', options.context, '').replace(
            /\.$/,
            ` (limit ${Math.round(options.timeoutMs / 1000)} s).`,
          ),
          result.stderr,
        );
      if (result.code !== 0 && !options.okCodes?.includes(result.code)) {
        const reason: GitFailure = classifyStderr(result.stderr);
        throw new GitError(reason, failureMessage(reason, options.context, result.stderr), result.stderr.slice(-4000));
      }
      return { stdout: result.stdout, stderr: result.stderr, code: result.code };
    } finally {
      if (accessDir) await rm(accessDir, { recursive: true, force: true });
    }
  }
}

async function emptyFolder(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const entry of entries) await rm(join(dir, entry), { recursive: true, force: true });
}
