/** The programs of the in-memory stand-in runtime (memory.ts): it runs no image, only these. */
import { createHash } from 'node:crypto';
import type { ProgramFiles } from './memory-files.js';

/** What a program sees: its arguments, environment and files; what it prints goes to the log. */
export interface ProgramCall {
  args: string[];
  env: Record<string, string>;
  files: ProgramFiles;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Aborted when the workload is stopped: a long-running program returns then. */
  signal: AbortSignal;
}
/** A program: its exit code. */
export type Program = (call: ProgramCall) => Promise<number> | number;

/** Nanosecond timestamps that only grow, as Docker's log ids do. */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

export function stamp(): string {
  const now = new Date().toISOString();
  stamp.counter = (stamp.counter + 1) % 1_000_000;
  return `${now.slice(0, -1)}${String(stamp.counter).padStart(6, '0')}Z`;
}
stamp.counter = 0;

export const builtins: Record<string, Program> = {
  true: () => 0,
  false: () => 1,
  echo: ({ args, stdout }) => {
    stdout(`${args.join(' ')}\n`);
    return 0;
  },
  cat: ({ args, files, stdout, stderr }) => {
    for (const path of args) {
      const content = files.read(path);
      if (content === undefined) {
        stderr(`cat: ${path}: No such file or directory\n`);
        return 1;
      }
      stdout(content);
    }
    return 0;
  },
  /** Runs until stopped (whatever the duration): the long-running workload of tests. */
  sleep: ({ signal }) => new Promise<number>((resolve) => signal.addEventListener('abort', () => resolve(0))),
  /** Prints its arguments, one a line, then runs until stopped: an instance with a log. */
  serve: ({ args, stdout, signal }) => {
    for (const line of args) stdout(`${line}\n`);
    return new Promise<number>((resolve) => signal.addEventListener('abort', () => resolve(0)));
  },
};
