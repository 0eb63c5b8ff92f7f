import { limits } from '../../api/limits';
import type { LogLevel } from './model';

/**
 * The choices the viewer's toolbar offers for what it asks the server: search text, level,
 * lines to load and time range, each bounded as the API accepts it.
 */

export const MAX_QUERY = limits.logSearch.maxLength;
// The choices offered, up to the most the server sends; a time range asks for that most.
export const RANGE_TAIL = limits.logTail.max;
export const TAILS = [200, 500, 1000, 5000, 10_000].filter((n) => n <= RANGE_TAIL);

export const timePresets = [
  { id: 'live', label: 'Live tail', minutes: 0 },
  { id: '15m', label: 'Last 15 minutes', minutes: 15 },
  { id: '1h', label: 'Last hour', minutes: 60 },
  { id: '6h', label: 'Last 6 hours', minutes: 360 },
  { id: '24h', label: 'Last 24 hours', minutes: 1440 },
  { id: '7d', label: 'Last 7 days', minutes: 10_080 },
  { id: 'custom', label: 'Custom range…', minutes: 0 },
] as const;
export type TimePreset = (typeof timePresets)[number]['id'];

export const levelLabels: Record<LogLevel, string> = {
  DEBUG: 'DEBUG and above',
  INFO: 'INFO and above',
  WARNING: 'WARNING and above',
  ERROR: 'ERROR and above',
  CRITICAL: 'CRITICAL only',
};

/** What the API accepts as `q`: no control characters (a pasted tab), at most MAX_QUERY characters. */
export function searchText(typed: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
  const controls = /[\x00-\x1f\x7f]+/g;
  return typed.replace(controls, ' ').trim().slice(0, MAX_QUERY);
}

/** "2026-11-21T09:30" (an <input type="datetime-local">) → ISO, or null. */
export function localToIso(value: string): string | null {
  if (!value) return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString();
}

/** A date as an <input type="datetime-local"> shows it: local time, to the minute. */
export function isoToLocalInput(date: Date): string {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
