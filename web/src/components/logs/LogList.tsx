import { memo, type RefObject, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { entryTime, formatClock, formatMs, type LogEntry, statusClass } from './model';
import { wrapColumns, wrappedLines } from './wrap';

/** Height of one display line, in pixels: the same as `--log-line` in styles/logs.css. */
export const LINE = 20;
/** Lines drawn above and below the visible ones, so fast scrolling shows no gaps. */
const OVERSCAN = 30;

/** The text with every match of the search marked. */
export function Highlight({ text, pattern }: { text: string; pattern: RegExp | null }) {
  if (!pattern) return <>{text}</>;
  const parts: React.ReactNode[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const at = match.index ?? 0;
    if (match[0].length === 0) break;
    if (at > last) parts.push(text.slice(last, at));
    parts.push(<mark key={at}>{match[0]}</mark>);
    last = at + match[0].length;
  }
  if (parts.length === 0) return <>{text}</>;
  if (last < text.length) parts.push(text.slice(last));
  return <>{parts}</>;
}

function HttpLine({ entry, pattern }: { entry: LogEntry; pattern: RegExp | null }) {
  const http = entry.http;
  if (!http) return null;
  const total = http.totalTimeMs;
  const speed = total === null ? '' : total >= 5000 ? ' log-ms-very-slow' : total >= 1000 ? ' log-ms-slow' : '';
  return (
    <span className="log-http">
      <span className="log-method">{http.method || '—'}</span> <Highlight text={http.path} pattern={pattern} />{' '}
      <span className={`log-status log-status-${statusClass(http.status)}`}>{http.status}</span>
      {total !== null ? <span className={`log-ms${speed}`}> {formatMs(total)}</span> : null}
      {http.queryCount !== null ? (
        <span className="log-dim">
          {' · '}
          {http.queryCount} {http.queryCount === 1 ? 'query' : 'queries'}
        </span>
      ) : null}
    </span>
  );
}

interface RowProps {
  entry: LogEntry;
  index: number;
  count: number;
  top: number;
  /** Display lines the entry takes (wrapped on a phone). */
  lines: number;
  expanded: boolean;
  databases: boolean;
  pattern: RegExp | null;
  onToggle(id: string): void;
}

const LogRow = memo(function LogRow({
  entry,
  index,
  count,
  top,
  lines,
  expanded,
  databases,
  pattern,
  onToggle,
}: RowProps) {
  const time = entryTime(entry);
  const more = entry.continuation.length;
  const level = entry.level?.toLowerCase() ?? 'plain';
  const foldId = `log-fold-${index}`;
  return (
    <li
      aria-posinset={index + 1}
      aria-setsize={count}
      className={`log-row log-row-${level}`}
      style={{ top, height: lines * LINE }}
      data-testid="log-entry"
      data-level={entry.level ?? 'plain'}
    >
      <div className="log-main">
        <span className="log-c-time" title={time === null ? undefined : new Date(time).toLocaleString()}>
          {time === null ? '' : formatClock(time)}
        </span>
        <span className="log-c-level">{entry.level ?? ''}</span>
        {databases ? (
          <span className="log-c-db" title={entry.database ?? undefined}>
            {entry.database ?? ''}
          </span>
        ) : null}
        <span className="log-c-logger" title={entry.logger ?? undefined}>
          {entry.logger ? <Highlight text={entry.logger} pattern={pattern} /> : ''}
        </span>
        <span className="log-c-message">
          {entry.http ? (
            <HttpLine entry={entry} pattern={pattern} />
          ) : (
            <Highlight text={entry.message} pattern={pattern} />
          )}
        </span>
      </div>
      {more > 0 ? (
        <div className="log-fold">
          <button
            type="button"
            className="log-fold-toggle"
            aria-expanded={expanded}
            aria-controls={expanded ? foldId : undefined}
            onClick={() => onToggle(entry.id)}
          >
            {expanded ? '▾ Hide' : '▸'} {more} more line{more === 1 ? '' : 's'}
            {entry.truncated > 0 ? (
              <span className="log-dim"> ({formatCountShort(entry.truncated)} left out)</span>
            ) : null}
          </button>
        </div>
      ) : null}
      {expanded && more > 0 ? (
        <div className="log-continuation" id={foldId}>
          {entry.continuation.map((line, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the lines of one entry never change.
            <div key={i} className="log-cont-line">
              <Highlight text={line} pattern={pattern} />
            </div>
          ))}
        </div>
      ) : null}
    </li>
  );
});

const formatCountShort = (n: number): string => new Intl.NumberFormat().format(n);

/** The first index whose start is after `line`, in ascending `starts`. */
function upperBound(starts: Float64Array, count: number, line: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((starts[mid] ?? 0) <= line) low = mid + 1;
    else high = mid;
  }
  return low;
}

interface LogListProps {
  entries: LogEntry[];
  expanded: ReadonlySet<string>;
  onToggle(id: string): void;
  pattern: RegExp | null;
  databases: boolean;
  autoScroll: boolean;
  onAutoScroll(on: boolean): void;
  label: string;
  viewportRef: RefObject<HTMLDivElement | null>;
  empty: React.ReactNode;
}

/**
 * The entries, virtualized: only the rows in view (and a margin) are in the DOM. Every display
 * line has the same height and, on a wide screen, nothing wraps (long lines scroll sideways, like
 * `less -S`), so the position of each entry is known without measuring: one line, plus a fold line
 * when it has continuation lines, plus those lines when it is expanded. On a phone lines wrap, and
 * their count comes from the monospace characters per line (wrap.ts). A prefix sum of these gives
 * each entry's top; a binary search finds the first one in view.
 */
export function LogList({
  entries,
  expanded,
  onToggle,
  pattern,
  databases,
  autoScroll,
  onAutoScroll,
  label,
  viewportRef,
  empty,
}: LogListProps) {
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);
  const [columns, setColumns] = useState<number | null>(null);
  const lastTop = useRef(0);
  const previous = useRef<{ entries: LogEntry[]; starts: Float64Array }>({
    entries: [],
    starts: new Float64Array(1),
  });

  const starts = useMemo(() => {
    const result = new Float64Array(entries.length + 1);
    let line = 0;
    for (let i = 0; i < entries.length; i++) {
      result[i] = line;
      const entry = entries[i] as LogEntry;
      line += wrappedLines(entry, expanded.has(entry.id), databases, columns);
    }
    result[entries.length] = line;
    return result;
  }, [entries, expanded, databases, columns]);
  const totalLines = starts[entries.length] ?? 0;

  useEffect(() => {
    const viewport = viewportRef.current;
    if (!viewport) return;
    const measure = () => {
      setHeight(viewport.clientHeight);
      setColumns(wrapColumns(viewport));
    };
    const observer = new ResizeObserver(measure);
    observer.observe(viewport);
    measure();
    return () => observer.disconnect();
  }, [viewportRef]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a window that grows keeps the bottom in view too.
  useLayoutEffect(() => {
    const viewport = viewportRef.current;
    const before = previous.current;
    previous.current = { entries, starts };
    if (!viewport) return;
    if (autoScroll) {
      viewport.scrollTop = viewport.scrollHeight;
    } else if (before.entries.length > 0 && entries.length > 0 && entries[0] !== before.entries[0]) {
      // The oldest entries were dropped (the buffer is full): keep the same lines in view.
      const kept = before.entries.indexOf(entries[0] as LogEntry);
      if (kept > 0) viewport.scrollTop -= (before.starts[kept] ?? 0) * LINE;
    }
    lastTop.current = viewport.scrollTop;
    setScrollTop(viewport.scrollTop);
  }, [entries, starts, autoScroll, height, viewportRef]);

  function onScroll() {
    const viewport = viewportRef.current;
    if (!viewport) return;
    const top = viewport.scrollTop;
    const atBottom = viewport.scrollHeight - top - viewport.clientHeight < LINE * 2;
    // Scrolling up leaves the bottom: stop following. Scrolling back down to it: follow again.
    if (top < lastTop.current - 1 && !atBottom && autoScroll) onAutoScroll(false);
    else if (top > lastTop.current && atBottom && !autoScroll) onAutoScroll(true);
    lastTop.current = top;
    setScrollTop(top);
  }

  const firstLine = Math.max(0, Math.floor(scrollTop / LINE) - OVERSCAN);
  const lastLine = Math.ceil((scrollTop + height) / LINE) + OVERSCAN;
  const first = Math.max(0, upperBound(starts, entries.length, firstLine) - 1);
  const last = Math.min(entries.length, upperBound(starts, entries.length, lastLine));
  const rows: React.ReactNode[] = [];
  for (let i = first; i < last; i++) {
    const entry = entries[i] as LogEntry;
    rows.push(
      <LogRow
        key={entry.id || i}
        entry={entry}
        index={i}
        count={entries.length}
        top={(starts[i] ?? 0) * LINE}
        lines={(starts[i + 1] ?? 0) - (starts[i] ?? 0)}
        expanded={expanded.has(entry.id)}
        databases={databases}
        pattern={pattern}
        onToggle={onToggle}
      />,
    );
  }

  return (
    <div
      ref={viewportRef}
      className={columns === null ? 'log-viewport' : 'log-viewport log-wrapped'}
      role="log"
      aria-live="off"
      aria-label={label}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable from the keyboard.
      tabIndex={0}
      onScroll={onScroll}
      data-testid="log-viewport"
    >
      {entries.length === 0 ? <div className="log-empty">{empty}</div> : null}
      <ul className="log-canvas" style={{ height: totalLines * LINE }}>
        {rows}
      </ul>
    </div>
  );
}
