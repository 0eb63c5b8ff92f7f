import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { EmptyState, Loading } from '../../components/EmptyState';
import { ChartIcon } from '../../components/icons';
import { type InstanceSeries, instanceSeriesQuery, type SeriesRange } from './api';
import {
  axisFormat,
  colors,
  formatCores,
  formatMs,
  formatPerMinute,
  formatSize,
  type Line,
  lastValue,
  peak,
} from './charts';
import { MetricChart } from './MetricChart';
import { RangeButtons } from './RangeButtons';
import '../../styles/metrics.css';

/* Loaded on demand (React.lazy): uPlot and its CSS stay out of the main bundle. */

const figureOf = (values: readonly (number | null)[], format: (v: number) => string) => {
  const value = lastValue(values);
  return value === null ? '—' : format(value);
};

/** The charts of one range: CPU, memory against its limit, requests, response time, sizes. */
function Charts({ s }: { s: InstanceSeries }) {
  const hourly = s.range !== '24h';
  const charts = useMemo(() => {
    const cpu: Line[] = [
      { label: hourly ? 'CPU (average)' : 'CPU', values: s.cpu, color: colors.brand, fill: colors.brandFill },
    ];
    if (s.cpuMax) cpu.push({ label: 'Busiest minute', values: s.cpuMax, color: colors.accent });
    const memory: Line[] = [
      { label: hourly ? 'Memory (average)' : 'Memory', values: s.memory, color: colors.violet },
      { label: 'Limit', values: s.memoryLimit, color: colors.red, dash: [6, 4] },
    ];
    if (s.memoryMax) memory.splice(1, 0, { label: 'Highest minute', values: s.memoryMax, color: colors.accent });
    return {
      cpu,
      memory,
      requests: [{ label: 'Requests/min', values: s.requests, color: colors.brand, fill: colors.brandFill }],
      latency: [
        { label: 'p50', values: s.p50, color: colors.brand },
        { label: 'p95', values: s.p95, color: colors.amber },
      ],
      sizes: [
        { label: 'Database', values: s.database, color: colors.brand },
        { label: 'Filestore', values: s.filestore, color: colors.violet },
      ],
    } satisfies Record<string, Line[]>;
  }, [s, hourly]);
  const common = { t: s.t, step: s.step, xRange: [s.from, s.to] as [number, number] };
  const cpuPeak = peak(s.cpuMax ?? s.cpu);
  const limit = lastValue(s.memoryLimit);
  return (
    <div className="metrics-grid" data-range={s.range}>
      <MetricChart
        {...common}
        title="CPU"
        figure={`${figureOf(s.cpu, formatCores)}${cpuPeak === null ? '' : ` · peak ${formatCores(cpuPeak)}`}`}
        lines={charts.cpu}
        format={formatCores}
        axis={axisFormat.cores ?? String}
        testId="chart-cpu"
      />
      <MetricChart
        {...common}
        title="Memory"
        figure={`${figureOf(s.memory, formatSize)}${limit === null ? '' : ` of ${formatSize(limit)}`}`}
        lines={charts.memory}
        format={formatSize}
        axis={axisFormat.bytes ?? String}
        testId="chart-memory"
      />
      <MetricChart
        {...common}
        title="Requests per minute"
        figure={figureOf(s.requests, formatPerMinute)}
        note={hourly ? 'Average per minute of each hour.' : undefined}
        lines={charts.requests}
        format={formatPerMinute}
        axis={axisFormat.perMinute ?? String}
        testId="chart-requests"
      />
      <MetricChart
        {...common}
        title="Response time"
        figure={`p50 ${figureOf(s.p50, formatMs)} · p95 ${figureOf(s.p95, formatMs)}`}
        note={hourly ? 'p50: average of the hour; p95: its worst minute.' : undefined}
        lines={charts.latency}
        format={formatMs}
        axis={axisFormat.ms ?? String}
        testId="chart-latency"
      />
      <MetricChart
        {...common}
        title="Database and filestore"
        figure={`${figureOf(s.database, formatSize)} · ${figureOf(s.filestore, formatSize)}`}
        lines={charts.sizes}
        format={formatSize}
        axis={axisFormat.bytes ?? String}
        testId="chart-sizes"
      />
    </div>
  );
}

/** The instance's Metrics tab: Marina's own series, no Prometheus needed. */
export default function MetricsTab({ instanceId }: { instanceId: string }) {
  const [range, setRange] = useState<SeriesRange>('24h');
  // The previous range stays drawn while the next one loads: no flash of an empty page.
  const series = useQuery({ ...instanceSeriesQuery(instanceId, range), placeholderData: keepPreviousData });
  const s = series.data;
  return (
    <section className="section metrics" aria-label="Metrics">
      <div className="section-head">
        <h2>Metrics</h2>
        <RangeButtons range={range} onRange={setRange} />
      </div>
      {series.error ? <Alert kind="error">{errorMessage(series.error)}</Alert> : null}
      {series.isPending ? <Loading label="Loading the charts…" /> : null}
      {s && s.t.length === 0 ? (
        <EmptyState icon={<ChartIcon width={28} height={28} />} title="No samples yet">
          Marina samples every instance once a minute; the charts fill in as the samples arrive. The 7 and 30 day views
          show hourly points, from the first full hour on.
        </EmptyState>
      ) : null}
      {s && s.t.length > 0 ? <Charts s={s} /> : null}
    </section>
  );
}
