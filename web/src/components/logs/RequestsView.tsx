import { useEffect, useId, useMemo, useRef, useState } from 'react';
import {
  entryTime,
  formatClock,
  formatCount,
  formatMinute,
  formatMs,
  type HttpInfo,
  type LogEntry,
  percentile,
  statusClass,
} from './model';

interface Request {
  id: string;
  at: number;
  http: HttpInfo;
}

interface Bucket {
  start: number;
  count: number;
  p95: number | null;
  errors: number;
}

const MINUTE = 60_000;
/** Bucket sizes in minutes: the smallest that keeps the chart at most MAX_BUCKETS bars wide. */
const BUCKET_MINUTES = [1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440];
const MAX_BUCKETS = 90;
const MIN_BUCKETS = 12;
const SLOWEST = 25;

function bucketsOf(requests: Request[]): { buckets: Bucket[]; minutes: number } {
  if (requests.length === 0) return { buckets: [], minutes: 1 };
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const r of requests) {
    if (r.at < min) min = r.at;
    if (r.at > max) max = r.at;
  }
  const minutes = BUCKET_MINUTES.find((m) => (max - min) / (m * MINUTE) < MAX_BUCKETS) ?? 1440;
  const size = minutes * MINUTE;
  const last = Math.floor(max / size) * size;
  const count = Math.max(MIN_BUCKETS, Math.floor((last - Math.floor(min / size) * size) / size) + 1);
  const first = last - (count - 1) * size;
  const durations: number[][] = Array.from({ length: count }, () => []);
  const buckets: Bucket[] = Array.from({ length: count }, (_, i) => ({
    start: first + i * size,
    count: 0,
    p95: null,
    errors: 0,
  }));
  for (const r of requests) {
    const i = Math.floor((r.at - first) / size);
    const bucket = buckets[i];
    if (!bucket) continue;
    bucket.count++;
    if (r.http.status >= 500) bucket.errors++;
    if (r.http.totalTimeMs !== null) durations[i]?.push(r.http.totalTimeMs);
  }
  buckets.forEach((bucket, i) => {
    const times = (durations[i] ?? []).sort((a, b) => a - b);
    bucket.p95 = times.length > 0 ? percentile(times, 95) : null;
  });
  return { buckets, minutes };
}

/** Round axis steps (1, 2, 5 × 10ⁿ) up to at least `max`. */
function niceTicks(max: number, segments = 4, integer = false): number[] {
  if (max <= 0) return [0, 1];
  const raw = max / segments;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  let step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
  if (integer) step = Math.max(1, Math.round(step));
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Math.round(v * 1000) / 1000);
  return ticks.length > 1 ? ticks : [0, step];
}

const shortMs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)}s` : `${ms}`);

function useWidth(): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [width, setWidth] = useState(800);
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

const HEIGHT = 240;
const M = { top: 28, right: 56, bottom: 30, left: 48 };

function RequestsChart({ buckets, minutes }: { buckets: Bucket[]; minutes: number }) {
  const [wrapRef, width] = useWidth();
  const [hover, setHover] = useState<number | null>(null);
  const titleId = useId();
  const descId = useId();
  const plotW = Math.max(100, width - M.left - M.right);
  const plotH = HEIGHT - M.top - M.bottom;
  const maxCount = Math.max(1, ...buckets.map((b) => b.count));
  const maxP95 = Math.max(1, ...buckets.map((b) => b.p95 ?? 0));
  const countTicks = niceTicks(maxCount, 4, true);
  const msTicks = niceTicks(maxP95, 4);
  const countTop = countTicks.at(-1) ?? 1;
  const msTop = msTicks.at(-1) ?? 1;
  const band = plotW / buckets.length;
  const barW = Math.max(1, Math.min(28, band * 0.72));
  const x = (i: number) => M.left + i * band + band / 2;
  const yCount = (v: number) => M.top + plotH - (v / countTop) * plotH;
  const yMs = (v: number) => M.top + plotH - (v / msTop) * plotH;
  const unit = minutes === 1 ? 'minute' : `${minutes} minutes`;

  // The p95 line, broken where a bucket has no timed request.
  const segments: string[] = [];
  let current = '';
  buckets.forEach((b, i) => {
    if (b.p95 === null) {
      if (current) segments.push(current);
      current = '';
      return;
    }
    current += `${current ? 'L' : 'M'}${x(i).toFixed(1)},${yMs(b.p95).toFixed(1)}`;
  });
  if (current) segments.push(current);

  const labelEvery = Math.max(1, Math.ceil(buckets.length / Math.max(2, Math.floor(plotW / 70))));
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  const busiest = buckets.reduce((best, b) => (b.count > best.count ? b : best), buckets[0] as Bucket);
  const hovered = hover === null ? null : buckets[hover];

  return (
    <div className="req-chart" ref={wrapRef}>
      <div className="req-legend" aria-hidden="true">
        <span>
          <span className="req-swatch req-swatch-bars" /> Requests per {unit}
        </span>
        <span>
          <span className="req-swatch req-swatch-errors" /> Server errors (5xx)
        </span>
        <span>
          <span className="req-swatch req-swatch-line" /> p95 duration
        </span>
      </div>
      <svg
        width={width}
        height={HEIGHT}
        role="img"
        aria-labelledby={`${titleId} ${descId}`}
        data-testid="requests-chart"
        onMouseMove={(event) => {
          const left = event.currentTarget.getBoundingClientRect().left;
          const i = Math.floor((event.clientX - left - M.left) / band);
          setHover(i >= 0 && i < buckets.length ? i : null);
        }}
        onMouseLeave={() => setHover(null)}
      >
        <title id={titleId}>Requests per {unit} and their 95th percentile duration</title>
        <desc id={descId}>
          {formatCount(total)} requests from {formatMinute(buckets[0]?.start ?? 0)} to{' '}
          {formatMinute((buckets.at(-1)?.start ?? 0) + minutes * MINUTE)}; the busiest {unit} starting{' '}
          {formatMinute(busiest.start)} had {busiest.count}.
        </desc>
        {countTicks.map((tick) => (
          <g key={`c${tick}`}>
            <line className="req-grid" x1={M.left} x2={M.left + plotW} y1={yCount(tick)} y2={yCount(tick)} />
            <text className="req-axis-label" x={M.left - 8} y={yCount(tick)} textAnchor="end" dominantBaseline="middle">
              {tick}
            </text>
          </g>
        ))}
        {msTicks.map((tick) => (
          <text
            key={`m${tick}`}
            className="req-axis-label req-axis-ms"
            x={M.left + plotW + 8}
            y={yMs(tick)}
            dominantBaseline="middle"
          >
            {shortMs(tick)}
          </text>
        ))}
        <text className="req-axis-title" x={M.left - 8} y={12} textAnchor="end">
          req
        </text>
        <text className="req-axis-title req-axis-ms" x={M.left + plotW + 8} y={12}>
          p95 ms
        </text>
        {hover !== null ? (
          <rect className="req-hover-band" x={M.left + hover * band} y={M.top} width={band} height={plotH} />
        ) : null}
        {buckets.map((b, i) =>
          b.count > 0 ? (
            <g key={b.start} className={hover === i ? 'req-bar-hover' : undefined}>
              <rect
                className="req-bar"
                x={x(i) - barW / 2}
                y={yCount(b.count)}
                width={barW}
                height={Math.max(1, M.top + plotH - yCount(b.count))}
                rx={Math.min(2, barW / 4)}
              />
              {b.errors > 0 ? (
                <rect
                  className="req-bar-errors"
                  x={x(i) - barW / 2}
                  y={yCount(b.errors)}
                  width={barW}
                  height={Math.max(1, M.top + plotH - yCount(b.errors))}
                />
              ) : null}
            </g>
          ) : null,
        )}
        {segments.map((d) => (
          <path key={d} className="req-line" d={d} />
        ))}
        {buckets.map((b, i) =>
          b.p95 !== null ? (
            <circle key={b.start} className="req-dot" cx={x(i)} cy={yMs(b.p95)} r={hover === i ? 4 : 2.5} />
          ) : null,
        )}
        <line className="req-axis" x1={M.left} x2={M.left + plotW} y1={M.top + plotH} y2={M.top + plotH} />
        {buckets.map((b, i) =>
          i % labelEvery === 0 ? (
            <text key={b.start} className="req-axis-label" x={x(i)} y={M.top + plotH + 18} textAnchor="middle">
              {formatMinute(b.start)}
            </text>
          ) : null,
        )}
      </svg>
      {hovered && hover !== null ? (
        <div
          className="req-tooltip"
          role="tooltip"
          data-testid="requests-tooltip"
          style={
            x(hover) > width / 2
              ? { right: width - x(hover) + barW / 2 + 8, top: M.top + 24 }
              : { left: x(hover) + barW / 2 + 8, top: M.top + 24 }
          }
        >
          <strong>
            {formatMinute(hovered.start)}
            {minutes > 1 ? `–${formatMinute(hovered.start + minutes * MINUTE)}` : ''}
          </strong>
          <span>
            {hovered.count} request{hovered.count === 1 ? '' : 's'}
            {hovered.errors > 0 ? ` · ${hovered.errors} failed` : ''}
          </span>
          <span>p95 {formatMs(hovered.p95)}</span>
        </div>
      ) : null}
    </div>
  );
}

function Summary({ requests }: { requests: Request[] }) {
  const times = requests
    .map((r) => r.http.totalTimeMs)
    .filter((t): t is number => t !== null)
    .sort((a, b) => a - b);
  const failed = requests.filter((r) => r.http.status >= 500).length;
  const refused = requests.filter((r) => r.http.status >= 400 && r.http.status < 500).length;
  const items: [string, string][] = [
    ['Requests', formatCount(requests.length)],
    ['Median', times.length ? formatMs(percentile(times, 50)) : '—'],
    ['p95', times.length ? formatMs(percentile(times, 95)) : '—'],
    ['Slowest', times.length ? formatMs(times.at(-1) ?? 0) : '—'],
    ['4xx', formatCount(refused)],
    ['5xx', formatCount(failed)],
  ];
  return (
    <dl className="req-summary">
      {items.map(([label, value]) => (
        <div key={label} className="req-stat">
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** HTTP requests found in the buffered log (werkzeug access lines): traffic over time and the slowest. */
export function RequestsView({ entries }: { entries: LogEntry[] }) {
  const requests = useMemo(() => {
    const found: Request[] = [];
    for (const entry of entries) {
      if (!entry.http) continue;
      const at = entryTime(entry);
      if (at !== null) found.push({ id: entry.id, at, http: entry.http });
    }
    return found;
  }, [entries]);
  const { buckets, minutes } = useMemo(() => bucketsOf(requests), [requests]);
  const slowest = useMemo(
    () =>
      [...requests]
        .sort((a, b) => (b.http.totalTimeMs ?? -1) - (a.http.totalTimeMs ?? -1) || b.at - a.at)
        .slice(0, SLOWEST),
    [requests],
  );

  if (requests.length === 0) {
    return (
      <div className="req-view" data-testid="requests-view">
        <div className="log-empty">
          <strong>No HTTP requests in the loaded log.</strong>
          <span>Odoo writes one werkzeug line per request; they appear here as they arrive.</span>
        </div>
      </div>
    );
  }
  return (
    <div className="req-view" data-testid="requests-view">
      <Summary requests={requests} />
      <RequestsChart buckets={buckets} minutes={minutes} />
      <h3 className="req-heading" id="slowest-requests">
        Slowest requests
      </h3>
      <div className="table-wrap">
        <table className="req-table" aria-labelledby="slowest-requests">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Method</th>
              <th scope="col">Path</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Total
              </th>
              <th scope="col" className="num">
                Queries
              </th>
              <th scope="col" className="num">
                SQL
              </th>
            </tr>
          </thead>
          <tbody>
            {slowest.map((r) => (
              <tr key={r.id}>
                <td className="nowrap" title={new Date(r.at).toLocaleString()}>
                  {formatClock(r.at)}
                </td>
                <td>{r.http.method}</td>
                <td className="req-path" title={r.http.path}>
                  {r.http.path}
                </td>
                <td>
                  <span className={`log-status log-status-${statusClass(r.http.status)}`}>{r.http.status}</span>
                </td>
                <td className="num">{formatMs(r.http.totalTimeMs)}</td>
                <td className="num">{r.http.queryCount ?? '—'}</td>
                <td className="num">{formatMs(r.http.sqlTimeMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
