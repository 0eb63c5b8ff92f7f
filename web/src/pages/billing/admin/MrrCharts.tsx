import { useMemo } from 'react';
import uPlot, { type AlignedData, type Options } from 'uplot';
import { colors } from '../../metrics/charts';
import { UPlotChart } from '../../metrics/UPlotChart';
import type { Overview } from '../api';
import { formatMinor } from '../money';
import '../../../styles/metrics.css';

const MONTHS = 12;
const HALF_MONTH_S = 15 * 86_400;

/** "2027-03" → Unix seconds of its first day (UTC), where its bar stands. */
const monthStart = (month: string) => {
  const [year, number] = month.split('-').map(Number);
  return Date.UTC(year ?? 1970, (number ?? 1) - 1, 1) / 1000;
};
const monthKey = (at: Date) => `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, '0')}`;

/**
 * The twelve months shown: up to this month, or to the last month the API reports when that is
 * later (Marina's clock is its own). A month the API leaves out had no paid period: its MRR is 0.
 */
function monthsShown(mrr: Overview['mrr']): string[] {
  const latest = [monthKey(new Date()), ...mrr.map((m) => m.month)].sort().at(-1) as string;
  const [year, number] = latest.split('-').map(Number);
  return Array.from({ length: MONTHS }, (_, i) =>
    monthKey(new Date(Date.UTC(year ?? 1970, (number ?? 1) - 1 - (MONTHS - 1 - i), 1))),
  );
}

const monthLabel = new Intl.DateTimeFormat('en', { month: 'short', year: '2-digit', timeZone: 'UTC' });

/** Bars in minor units (whole numbers); the axis and the legend write them as money, from integers. */
function barOptions(currency: string, months: string[]): Omit<Options, 'width'> {
  // A month without a paid period is drawn empty (null) and reads 0.
  const money = (value: number | null) => formatMinor(Math.round(value ?? 0), currency);
  return {
    height: 190,
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      y: {
        range: (_u: uPlot, _min: number | null, max: number | null): uPlot.Range.MinMax => [
          0,
          max && max > 0 ? max * 1.15 : 100,
        ],
      },
    },
    axes: [
      {
        stroke: colors.axis,
        grid: { show: false },
        ticks: { stroke: colors.grid, width: 1 },
        // One tick per month (every other one when the bars are narrow), on the bars themselves.
        splits: (u: uPlot) => {
          const starts = months.map(monthStart);
          const every = u.bbox.width / devicePixelRatio / starts.length < 52 ? 2 : 1;
          return starts.filter((_, i) => (starts.length - 1 - i) % every === 0);
        },
        values: (_u: uPlot, splits: number[]) => splits.map((s) => monthLabel.format(new Date(s * 1000))),
      },
      {
        stroke: colors.axis,
        size: 96,
        grid: { stroke: colors.grid, width: 1 },
        ticks: { stroke: colors.grid, width: 1 },
        values: (_u: uPlot, splits: number[]) => splits.map((s) => money(s)),
      },
    ],
    series: [
      {
        label: 'Month',
        value: (_u: uPlot, s: number | null) => (s === null ? '—' : monthLabel.format(new Date(s * 1000))),
      },
      {
        label: `MRR ${currency}`,
        stroke: colors.brand,
        fill: colors.accent,
        width: 1,
        paths: uPlot.paths.bars?.({ size: [0.6, 42] }),
        points: { show: false },
        value: (_u: uPlot, value: number | null) => money(value),
      },
    ],
  };
}

function CurrencyChart({ currency, months, values }: { currency: string; months: string[]; values: number[] }) {
  const options = useMemo(() => barOptions(currency, months), [currency, months]);
  const data = useMemo<AlignedData>(
    () => [months.map(monthStart), values.map((v) => (v === 0 ? null : v))],
    [months, values],
  );
  const xRange: [number, number] = [
    monthStart(months[0] ?? '1970-01') - HALF_MONTH_S,
    monthStart(months.at(-1) ?? '1970-01') + HALF_MONTH_S,
  ];
  const latest = values.at(-1) ?? 0;
  const figure = formatMinor(latest, currency);
  return (
    <figure
      className="metrics-card card billing-mrr-card"
      data-testid={`mrr-chart-${currency}`}
      data-latest-minor={latest}
    >
      <figcaption className="metrics-card-head">
        <span className="metrics-card-title">MRR in {currency}</span>
        <span className="metrics-figure tabular">{figure} this month</span>
      </figcaption>
      <UPlotChart
        options={options}
        data={data}
        shape={`mrr-${currency}-${months.at(-1)}`}
        xRange={xRange}
        label={`Monthly recurring revenue in ${currency}: ${figure} in ${monthLabel.format(new Date(monthStart(months.at(-1) ?? '1970-01') * 1000))}`}
      />
    </figure>
  );
}

/**
 * Monthly recurring revenue per month, one chart per currency: amounts in different currencies are
 * never added up (no exchange rate is assumed), and each gets a scale of its own.
 */
export function MrrCharts({ mrr }: { mrr: Overview['mrr'] }) {
  const months = useMemo(() => monthsShown(mrr), [mrr]);
  const currencies = useMemo(() => [...new Set(mrr.map((m) => m.currency))].sort(), [mrr]);
  const series = useMemo(
    () =>
      currencies.map((currency) => ({
        currency,
        values: months.map((month) => mrr.find((m) => m.month === month && m.currency === currency)?.mrrMinor ?? 0),
      })),
    [currencies, months, mrr],
  );
  if (currencies.length === 0)
    return (
      <p className="muted billing-mrr-empty" data-testid="mrr-empty">
        No paid subscription yet: the monthly recurring revenue is drawn here once the first invoice is paid.
      </p>
    );
  return (
    <div className="metrics-grid billing-mrr" data-testid="mrr-charts">
      {series.map((s) => (
        <CurrencyChart key={s.currency} currency={s.currency} months={months} values={s.values} />
      ))}
    </div>
  );
}
