import type { LogEntry, LogQuery } from '../../api/types';

/**
 * Log entries as the logs API sends them (GET …/logs, …/logs/stream, parsed server-side), and the
 * small pure helpers the viewer and the requests view share.
 */

export type { LogEntry, LogQuery };
export type LogLevel = NonNullable<LogEntry['level']>;
export type HttpInfo = NonNullable<LogEntry['http']>;

export const logLevels: LogLevel[] = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];

/** What the viewer reads: an instance's log or Marina's own. */
export interface LogSource {
  /** `/api/v1/instances/{id}/logs` or `/api/v1/system/logs`; `/stream` and `/download` hang below it. */
  base: string;
  /** Names the log for screen readers and titles: "staging", "Marina". */
  name: string;
  /** Odoo logs name a database per line; Marina's own log does not. */
  databases: boolean;
  /** Werkzeug access lines, so a Requests tab makes sense. */
  requests: boolean;
  /** GET `base`: entries at once (the tail, or a time range). */
  load(query: LogQuery): Promise<LogEntry[]>;
}

/** Entries kept in memory; the oldest go first. */
export const MAX_ENTRIES = 100_000;

export interface LogFilter {
  level: LogLevel | '';
  q: string;
}

/** A query string without the empty values. */
export function queryString(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** When the entry was written: Odoo's own timestamp, else Docker's (plain lines have no other). */
export function entryTime(entry: LogEntry): number | null {
  const stamp = entry.time ?? (entry.id.includes('T') ? entry.id : null);
  if (stamp === null) return null;
  const parsed = Date.parse(stamp);
  return Number.isNaN(parsed) ? null : parsed;
}

const two = (n: number) => String(n).padStart(2, '0');

/** Local "hh:mm:ss.mmm". */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** Local "hh:mm". */
export function formatMinute(ms: number): string {
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** "0.8 ms", "12 ms", "1.24 s". */
export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

const numbers = new Intl.NumberFormat();
export const formatCount = (n: number): string => numbers.format(n);

/** The p-th percentile (0–100) of ascending numbers, nearest rank. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}

/** A pattern finding the search text, case-insensitively; null without a search. */
export function searchPattern(q: string): RegExp | null {
  const text = q.trim();
  if (!text) return null;
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
}

/** Display lines an entry takes: its first line, a fold toggle, and the folded lines when open. */
export function entryLines(entry: LogEntry, expanded: boolean): number {
  const more = entry.continuation.length;
  if (more === 0) return 1;
  return expanded ? 2 + more : 2;
}

export const statusClass = (status: number): string =>
  status >= 500 ? 's5' : status >= 400 ? 's4' : status >= 300 ? 's3' : 's2';
