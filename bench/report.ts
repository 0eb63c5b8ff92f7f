import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const report = (name: string, value: string): void => {
  console.log(`${name.padEnd(52)} ${value}`);
};

export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

export const ms = (n: number): string => `${n.toFixed(1)} ms`;

export async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

/**
 * A file of the checkout: the benches run compiled from dist/bench/ (npm run bench) or from their
 * sources (npx tsx), so paths are found from the folder that holds package.json.
 */
export function checkoutFile(relative: string): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${import.meta.dirname}`);
    dir = up;
  }
  return join(dir, relative);
}
