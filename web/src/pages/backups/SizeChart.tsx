import { type RefObject, useEffect, useId, useRef, useState } from 'react';
import type { Backup } from '../../api/types';
import { formatDate, formatDateTime, formatShortTime } from '../../format';
import { formatBytes } from '../../operate';
import { formatLabel, kindLabel, triggerLabel } from './parts';

function useWidth(): [RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [width, setWidth] = useState(720);
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

const units = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Round steps (1, 2, 5 × 10ⁿ) in the unit that suits the largest size. */
function sizeTicks(max: number): { ticks: number[]; label(value: number): string } {
  const unit = Math.min(units.length - 1, Math.max(0, Math.floor(Math.log(Math.max(1, max)) / Math.log(1024))));
  const scale = 1024 ** unit;
  const top = max / scale;
  const raw = top / 3;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const norm = raw / magnitude;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step * 0.999; v += step) ticks.push(v * scale);
  return {
    ticks: ticks.length > 1 ? ticks : [0, step * scale],
    label: (value) => (value === 0 ? '0' : `${Number((value / scale).toFixed(2))} ${units[unit]}`),
  };
}

const CHART_HEIGHT = 170;
const M = { top: 14, right: 12, bottom: 28, left: 64 };
const MAX_BARS = 40;

/** Sizes of the completed backups over time, oldest on the left, coloured by format. */
export function SizeChart({ backups }: { backups: Backup[] }) {
  const [wrapRef, width] = useWidth();
  const titleId = useId();
  const points = backups
    .filter((b) => b.status === 'completed' && b.sizeBytes !== null)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .slice(-MAX_BARS);
  if (points.length === 0) return null;
  const plotW = Math.max(100, width - M.left - M.right);
  const plotH = CHART_HEIGHT - M.top - M.bottom;
  const { ticks, label } = sizeTicks(Math.max(...points.map((p) => p.sizeBytes ?? 0)));
  const top = ticks.at(-1) ?? 1;
  const band = plotW / Math.max(points.length, 12);
  const barW = Math.max(3, Math.min(36, band * 0.64));
  const x = (i: number) => M.left + i * band + band / 2;
  const y = (v: number) => M.top + plotH - (v / top) * plotH;
  // Labels anchored on the newest bar, far enough apart not to overlap; times when all are of one day.
  const oneDay = new Set(points.map((p) => formatDate(p.createdAt))).size === 1;
  const labelEvery = Math.max(1, Math.ceil((oneDay ? 70 : 96) / band));
  const total = points.reduce((sum, p) => sum + (p.sizeBytes ?? 0), 0);
  const formats = new Set(points.map((p) => p.format));

  return (
    <div className="size-chart" ref={wrapRef}>
      <div className="size-chart-head">
        <span className="muted">
          {points.length} completed backup{points.length === 1 ? '' : 's'} · {formatBytes(total)} in all
        </span>
        <span className="size-legend" aria-hidden="true">
          {[...formats].sort().map((format) => (
            <span key={format}>
              <span className={`size-swatch size-bar-${format}`} /> {formatLabel[format]}
            </span>
          ))}
        </span>
      </div>
      <svg width={width} height={CHART_HEIGHT} role="img" aria-labelledby={titleId} data-testid="backup-size-chart">
        <title id={titleId}>
          Backup sizes over time: {points.length} backups, the largest {formatBytes(top)} at most.
        </title>
        {ticks.map((tick) => (
          <g key={tick}>
            <line className="size-grid" x1={M.left} x2={M.left + plotW} y1={y(tick)} y2={y(tick)} />
            <text className="size-axis-label" x={M.left - 8} y={y(tick)} textAnchor="end" dominantBaseline="middle">
              {label(tick)}
            </text>
          </g>
        ))}
        {points.map((p, i) => (
          <rect
            key={p.id}
            className={`size-bar size-bar-${p.format}`}
            x={x(i) - barW / 2}
            y={y(p.sizeBytes ?? 0)}
            width={barW}
            height={Math.max(1.5, M.top + plotH - y(p.sizeBytes ?? 0))}
            rx={Math.min(3, barW / 4)}
          >
            <title>
              {formatDateTime(p.createdAt)}: {formatBytes(p.sizeBytes)} — {formatLabel[p.format]},{' '}
              {kindLabel[p.kind].toLowerCase()}, {triggerLabel[p.trigger].toLowerCase()}
            </title>
          </rect>
        ))}
        <line className="size-axis" x1={M.left} x2={M.left + plotW} y1={M.top + plotH} y2={M.top + plotH} />
        {points.map((p, i) =>
          (points.length - 1 - i) % labelEvery === 0 ? (
            <text key={p.id} className="size-axis-label" x={x(i)} y={M.top + plotH + 18} textAnchor="middle">
              {oneDay ? formatShortTime(p.createdAt) : formatDate(p.createdAt)}
            </text>
          ) : null,
        )}
      </svg>
    </div>
  );
}
