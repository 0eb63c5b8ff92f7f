import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitError } from './errors.js';

/** The processes git and ssh-keyscan run as: a private HOME, an ssh wrapper, bounded output. */

export const MAX_STDOUT = 16 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Paths ssh reads from -o values: no spaces, "%" tokens or "~". */
export const PLAIN_PATH = /^\/[A-Za-z0-9._/-]+$/;

/**
 * Fixed content, written once: values reach ssh only through the environment. Without a key,
 * public-key authentication is off (never root's own keys or agent).
 */
const SSH_WRAPPER = `#!/bin/sh
# Marina's ssh for git: constant; every value comes from the environment.
known_hosts="\${MARINA_GIT_KNOWN_HOSTS:-/dev/null}"
set -- -F "\${MARINA_GIT_SSH_CONFIG:-/dev/null}" -o UserKnownHostsFile="$known_hosts" -o GlobalKnownHostsFile=/dev/null \\
  -o StrictHostKeyChecking=yes -o UpdateHostKeys=no -o BatchMode=yes -o ConnectTimeout=20 \\
  -o IdentityAgent=none -o ForwardAgent=no -o ForwardX11=no -o ClearAllForwardings=yes \\
  -o PermitLocalCommand=no -o ControlMaster=no -o ControlPath=none \\
  -o ServerAliveInterval=15 -o ServerAliveCountMax=4 "$@"
if [ -n "\${MARINA_GIT_KEY:-}" ]; then
  exec ssh -i "$MARINA_GIT_KEY" -o IdentitiesOnly=yes "$@"
fi
exec ssh -o IdentitiesOnly=yes -o PubkeyAuthentication=no "$@"
`;

export interface GitProcessRuntime {
  dir: string;
  home: string;
  wrapper: string;
}

let runtime: Promise<GitProcessRuntime> | null = null;

/** A private 0700 folder holding the ssh wrapper and an empty HOME, created once per process. */
export function privateRuntime(): Promise<GitProcessRuntime> {
  runtime ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'marina-git-'));
    if (!PLAIN_PATH.test(dir))
      throw new GitError('other', `The temporary folder ${dir} has characters ssh cannot take in a path.`, '');
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    // (A process killed by a signal leaves it behind: a wrapper and an empty folder, never a key.)
    const home = join(dir, 'home');
    await mkdir(home, { mode: 0o700 });
    const wrapper = join(dir, 'git-ssh');
    await writeFile(wrapper, SSH_WRAPPER, { mode: 0o700, flag: 'wx' });
    return { dir, home, wrapper };
  })();
  runtime.catch(() => {
    runtime = null;
  });
  return runtime;
}

/** Removes the private folder now (tests, shutdown); the next command makes a new one. */
export async function releaseGitRuntime(): Promise<void> {
  const current = runtime;
  runtime = null;
  const dir = await current?.then((r) => r.dir).catch(() => null);
  if (dir) await rm(dir, { recursive: true, force: true });
}

export interface Executed {
  stdout: string;
  stderr: string;
  code: number;
  timedOut: boolean;
}

/**
 * execFile's contract (argument array, no shell, bounded output, a time limit) in its own process
 * group, so a timeout also stops the ssh or helper processes git started.
 */
export function execute(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Executed> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      shell: false,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let timedOut = false;
    let tooLarge = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT) {
        tooLarge = true;
        killGroup();
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-MAX_STDERR);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new GitError(
          'other',
          missing ? `git is not installed at ${file}.` : `git could not start: ${error.message}`,
          '',
        ),
      );
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (tooLarge) {
        reject(new GitError('other', `git printed more than ${MAX_STDOUT} bytes; stopped.`, stderr));
        return;
      }
      resolvePromise({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr,
        code: code ?? (signal ? 128 : 1),
        timedOut,
      });
    });
  });
}
