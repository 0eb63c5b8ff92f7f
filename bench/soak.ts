import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * The 15-minute log-stream soak (test/logs-soak.test.ts): a stream held open that long keeps
 * delivering. It lives here rather than in `npm test`, which runs the same test for one minute.
 */
export async function soakBench(): Promise<void> {
  const minutes = process.env.MARINA_SOAK_MINUTES ?? '15';
  console.log(`\n## Log stream soak (${minutes} minutes)`);
  const started = Date.now();
  const { stdout } = await promisify(execFile)('npx', ['vitest', 'run', 'test/logs-soak.test.ts'], {
    env: { ...process.env, MARINA_SOAK_MINUTES: minutes },
    maxBuffer: 16 * 1024 * 1024,
  });
  const summary = stdout.split('\n').find((line) => /\d+ passed, \d+ failed/.test(line));
  console.log(`soak: ${summary ?? 'no summary line'} in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
}
