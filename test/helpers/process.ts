import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..', '..');
export const marinaBin = join(root, 'bin', 'marina.js');

export function requireBuild(): void {
  if (!existsSync(join(root, 'dist', 'server', 'cli', 'index.js'))) {
    throw new Error('dist/server is missing: run `npm run build` first (npm test does it in pretest).');
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `marina ARGS` with the same Node that runs the tests, as a user would in a terminal. */
export function marina(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [marinaBin, ...args],
      { env, cwd: root, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

export interface Server {
  child: ChildProcess;
  output(): string;
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startServer(env: NodeJS.ProcessEnv): Server {
  const child = spawn(process.execPath, [marinaBin, 'serve'], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  return {
    child,
    exited,
    output: () => output,
    waitFor: (text, timeoutMs = 30_000) =>
      new Promise((resolveWait, reject) => {
        if (child.exitCode !== null) {
          reject(new Error(`the server has exited (code ${child.exitCode}):\n${output.slice(-3000)}`));
          return;
        }
        const check = () => {
          const match =
            typeof text === 'string' ? (output.includes(text) ? text : null) : (text.exec(output)?.[0] ?? null);
          if (match !== null) {
            cleanup();
            resolveWait(match);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${text} in:\n${output.slice(-3000)}`));
        }, timeoutMs);
        // A server that exits will never print it: say so at once, with what it printed.
        child.once('exit', (code) => {
          cleanup();
          reject(new Error(`the server exited (code ${code}) before printing ${text}:\n${output.slice(-3000)}`));
        });
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
  };
}
