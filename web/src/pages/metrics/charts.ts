import type uPlot from 'uplot';
import type { Options } from 'uplot';
import { formatBytes } from '../../operate';

/* How Marina's charts look and write their figures (the palette of styles/base.css). */

export const colors = {
  brand: '#137089',
  brandFill: 'rgba(19, 112, 137, 0.12)',
  accent: '#5fb8c9',
  amber: '#c98a00',
  violet: '#6a3fb5',
  red: '#c0362c',
  axis: '#566571',
  grid: '#eef2f5',
};

export interface Line {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: number[];
  fill?: string;
}

export const formatCores = (milli: number) => `${Number((milli / 1000).toFixed(milli < 10_000 ? 2 : 1))} cores`;
export const formatPerMinute = (value: number) => `${Number(value.toFixed(1))}/min`;
export const formatMs = (ms: number) => (ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${Math.round(ms)} ms`);
export const formatSize = (bytes: number) => formatBytes(bytes);
const axisCores = (milli: number) => `${Number((milli / 1000).toFixed(2))}`;

export const axisFormat: Record<string, (value: number) => string> = {
  cores: axisCores,
  perMinute: (v) => `${Number(v.toFixed(1))}`,
  ms: formatMs,
  bytes: formatSize,
};

/** The last known value of a line, for the figure above its chart. */
export function lastValue(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const value = values[i];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}

export function peak(values: readonly (number | null)[] | null): number | null {
  if (!values) return null;
  let top: number | null = null;
  for (const value of values) if (value !== null && (top === null || value > top)) top = value;
  return top;
}

/** Powers of two of each binary unit: byte axes read 256 MB, 512 MB, 1 GB rather than 477 MB. */
export const byteSteps: number[] = [0, 1, 2, 3, 4, 5].flatMap((power) =>
  [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** power),
);

/** uPlot options: time across, zero at the bottom, the legend writing each line's value under the cursor. */
export function chartOptions(
  lines: readonly Line[],
  format: (value: number) => string,
  axis: (value: number) => string,
  height = 170,
): Omit<Options, 'width'> {
  const bytes = axis === formatSize;
  return {
    height,
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    scales: {
      y: {
        range: (_u: uPlot, _min: number | null, max: number | null): uPlot.Range.MinMax => [
          0,
          max && max > 0 ? max * 1.12 : 1,
        ],
      },
    },
    axes: [
      { stroke: colors.axis, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 } },
      {
        stroke: colors.axis,
        size: 72,
        grid: { stroke: colors.grid, width: 1 },
        ticks: { stroke: colors.grid, width: 1 },
        values: (_u: uPlot, splits: number[]) => splits.map(axis),
        ...(bytes ? { incrs: byteSteps } : {}),
      },
    ],
    series: [
      {},
      ...lines.map((line) => ({
        label: line.label,
        stroke: line.color,
        width: 1.5,
        ...(line.dash ? { dash: line.dash } : {}),
        ...(line.fill ? { fill: line.fill } : {}),
        spanGaps: false,
        value: (_u: uPlot, value: number | null) => (value === null || value === undefined ? '—' : format(value)),
      })),
    ],
  };
}
