import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import { type SeriesRange, storageSeriesQuery } from './api';
import { axisFormat, colors, formatSize, type Line, lastValue } from './charts';
import { MetricChart } from './MetricChart';
import { RangeButtons } from './RangeButtons';
import '../../styles/metrics.css';

/* Loaded on demand (React.lazy), like the instance's charts. */

/** The organization's storage (databases and filestores) against its plan's quota, per hour. */
export default function StorageChart({ organizationId }: { organizationId: string }) {
  const [range, setRange] = useState<SeriesRange>('30d');
  const series = useQuery({ ...storageSeriesQuery(organizationId, range), placeholderData: keepPreviousData });
  const s = series.data;
  const lines = useMemo<Line[]>(() => {
    if (!s) return [];
    const drawn: Line[] = [{ label: 'Storage used', values: s.storage, color: colors.brand, fill: colors.brandFill }];
    if (s.quota.some((q) => q !== null))
      drawn.push({ label: 'Quota', values: s.quota, color: colors.red, dash: [6, 4] });
    return drawn;
  }, [s]);
  const used = s ? lastValue(s.storage) : null;
  const quota = s ? lastValue(s.quota) : null;
  return (
    <section className="section metrics" aria-label="Storage over time" data-range={s?.range}>
      <div className="section-head">
        <h2>Storage over time</h2>
        <RangeButtons range={range} onRange={setRange} />
      </div>
      {series.error ? <Alert kind="error">{errorMessage(series.error)}</Alert> : null}
      {series.isPending ? <Loading label="Loading the chart…" /> : null}
      {s && s.t.length === 0 ? (
        <p className="muted">
          No storage recorded yet: it is summed every hour from the instances' samples (taken once a minute).
        </p>
      ) : null}
      {s && s.t.length > 0 ? (
        <MetricChart
          title="Databases and filestores"
          figure={`${used === null ? '—' : formatSize(used)}${quota === null ? ' · no quota' : ` of ${formatSize(quota)}`}`}
          t={s.t}
          step={s.step}
          xRange={[s.from, s.to]}
          lines={lines}
          format={formatSize}
          axis={axisFormat.bytes ?? String}
          testId="chart-storage"
        />
      ) : null}
    </section>
  );
}
