/**
 * The native backup against its floor, run several times in turn on the same data
 * (MARINA_BENCH_BACKUP_RUNS, default 5): this machine's speed drifts by 2× from one hour to the
 * next, so the figure is the median of the ratios measured side by side, with their range.
 */
import type { Floor } from './backup-floor.js';
import { report } from './report.js';

export interface NativeRun {
  ms: number;
  sizeBytes: number;
  /** The job's own account of its stages (pg_dump, the filestore beside it, the dump, the append). */
  stages: string;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function benchRuns(): number {
  const runs = Number(process.env.MARINA_BENCH_BACKUP_RUNS ?? 5);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('MARINA_BENCH_BACKUP_RUNS must be a whole number ≥ 1');
  return runs;
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

const spread = (values: number[], show: (n: number) => string): string =>
  values.length === 1
    ? show(values[0] ?? 0)
    : `median ${show(median(values))} (${show(Math.min(...values))}–${show(Math.max(...values))}, ${values.length} runs)`;

/**
 * Runs `native` then `floor` `runs` times; `native` must leave nothing behind but what the first
 * run returns (the caller restores from it). Prints each run and the medians.
 */
export async function nativeAgainstFloor(
  runs: number,
  native: (run: number) => Promise<NativeRun>,
  floor: () => Promise<Floor>,
): Promise<void> {
  const natives: number[] = [];
  const floors: number[] = [];
  const ratios: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const backup = await native(run);
    const base = await floor();
    natives.push(backup.ms);
    floors.push(base.ms);
    ratios.push(backup.ms / base.ms);
    report(
      `  run ${run}: native / floor`,
      `${seconds(backup.ms)} / ${seconds(base.ms)} = ${(backup.ms / base.ms).toFixed(2)}× ` +
        `(floor: pg_dump ${seconds(base.dumpMs)}, filestore ${seconds(base.filesMs)})`,
    );
    report('    stages', backup.stages);
  }
  report('Marina native backup', spread(natives, seconds));
  report('floor: pg_dump -Fd beside tar | zstd -1', spread(floors, seconds));
  const ratio = median(ratios);
  report(
    'ratio Marina native backup / floor',
    `${spread(ratios, (r) => `${r.toFixed(2)}×`)} (target ≤ 1.3×: ${ratio <= 1.3 ? 'met' : 'NOT met'})`,
  );
}
