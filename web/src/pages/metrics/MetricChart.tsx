import { useMemo } from 'react';
import { withGaps } from './api';
import { chartOptions, type Line } from './charts';
import { UPlotChart } from './UPlotChart';

export interface MetricChartProps {
  title: string;
  /** The figure above the chart (the latest value, the peak). */
  figure: string;
  note?: string;
  t: readonly number[];
  step: number;
  xRange: [number, number];
  lines: Line[];
  format: (value: number) => string;
  axis: (value: number) => string;
  testId: string;
}

/** One chart in a card: its title, its latest figure, the lines over the range. */
export function MetricChart({ title, figure, note, t, step, xRange, lines, format, axis, testId }: MetricChartProps) {
  const shape = lines.map((l) => l.label).join('|');
  // Read by the chart only when `shape` changes (UPlotChart): new values go through `data`.
  const options = chartOptions(lines, format, axis);
  const data = useMemo(
    () =>
      withGaps(
        t,
        step,
        lines.map((l) => l.values),
      ),
    [t, step, lines],
  );
  return (
    <figure className="metrics-card card" data-testid={testId}>
      <figcaption className="metrics-card-head">
        <span className="metrics-card-title">{title}</span>
        <span className="metrics-figure tabular" data-testid={`${testId}-figure`}>
          {figure}
        </span>
      </figcaption>
      {note ? <p className="metrics-note muted">{note}</p> : null}
      <UPlotChart options={options} data={data} shape={shape} xRange={xRange} label={`${title}: ${figure}`} />
    </figure>
  );
}
