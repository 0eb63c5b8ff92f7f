import { type RefObject, useEffect, useId, useRef, useState } from 'react';
import { type CustomersTotals, formatMoney, majorUnits, statuses } from './api';

/* Hand-drawn SVG bars, as the backups' size chart: no chart library in the bundle. */

function useWidth(): [RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [width, setWidth] = useState(360);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    setWidth(element.clientWidth);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

interface Bar {
  key: string;
  label: string;
  value: number;
  /** What the bar's end says (a count, an amount). */
  text: string;
  className: string;
}

const ROW = 26;
const LABEL_W = 84;
const TEXT_W = 96;

/** One horizontal bar per entry, the longest across the width; each bar's figure written after it. */
function HorizontalBars({
  title,
  summary,
  bars,
  testId,
}: {
  title: string;
  summary: string;
  bars: Bar[];
  testId: string;
}) {
  const [ref, width] = useWidth();
  const titleId = useId();
  const max = Math.max(1, ...bars.map((b) => b.value));
  const plotW = Math.max(40, width - LABEL_W - TEXT_W);
  const height = bars.length * ROW + 4;
  return (
    <div className="customers-chart card" ref={ref}>
      <h2 className="customers-chart-title">{title}</h2>
      {bars.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <svg width={width} height={height} role="img" aria-labelledby={titleId} data-testid={testId}>
          <title id={titleId}>{summary}</title>
          {bars.map((bar, i) => {
            const y = i * ROW + 4;
            const w = bar.value > 0 ? Math.max(2, (bar.value / max) * plotW) : 0;
            return (
              <g key={bar.key} data-bar={bar.key}>
                <text
                  className="customers-chart-label"
                  x={LABEL_W - 8}
                  y={y + 9}
                  textAnchor="end"
                  dominantBaseline="middle"
                >
                  {bar.label}
                </text>
                <rect
                  className={`customers-chart-bar ${bar.className}`}
                  x={LABEL_W}
                  y={y}
                  width={w}
                  height={18}
                  rx={3}
                />
                <text className="customers-chart-value" x={LABEL_W + w + 6} y={y + 9} dominantBaseline="middle">
                  {bar.text}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </div>
  );
}

/** How many customers are in each state, and the monthly recurring revenue in each currency. */
export function CustomerCharts({ totals }: { totals: CustomersTotals }) {
  const states = statuses
    .filter((s) => (totals.byStatus[s.id] ?? 0) > 0)
    .map((s) => {
      const count = totals.byStatus[s.id] ?? 0;
      return { key: s.id, label: s.label, value: count, text: String(count), className: `customers-bar-${s.id}` };
    });
  const currencies = Object.entries(totals.mrrMinor)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, minor]) => ({
      key: currency,
      label: currency,
      // In main units, so a yen and a euro bar are not 100 times apart for their minor units.
      value: majorUnits(minor, currency),
      text: formatMoney(minor, currency),
      className: 'customers-bar-mrr',
    }));
  return (
    <div className="customers-charts">
      <HorizontalBars
        title="Customers by state"
        testId="customers-by-state"
        summary={states.map((s) => `${s.label}: ${s.text}`).join(', ') || 'No customers'}
        bars={states}
      />
      <HorizontalBars
        title="Monthly recurring revenue"
        testId="customers-mrr"
        summary={currencies.map((c) => `${c.label}: ${c.text}`).join(', ') || 'No active paid subscription'}
        bars={currencies}
      />
    </div>
  );
}
