import { limits } from './api/limits';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const timeShort = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export const formatDateTime = (iso: string): string => dateTime.format(new Date(iso));
export const formatDate = (iso: string): string => dateOnly.format(new Date(iso));
export const formatTime = (iso: string): string => timeOnly.format(new Date(iso));
export const formatShortTime = (iso: string): string => timeShort.format(new Date(iso));

const steps: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY],
];

export function formatRelative(iso: string, now: Date = new Date()): string {
  let value = (new Date(iso).getTime() - now.getTime()) / 1000;
  for (const [unit, size] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return formatDate(iso);
}

/** Lowercase words joined by dashes, the shape the API accepts for slugs. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, limits.slug.maxLength)
    .replace(/-+$/, '');
}

/** The start (or end) of a local calendar day from an <input type="date">, as the API's ISO date-time. */
export function dayBoundary(date: string, edge: 'start' | 'end'): string {
  const [year, month, day] = date.split('-').map(Number);
  const local =
    edge === 'start'
      ? new Date(year ?? 1970, (month ?? 1) - 1, day ?? 1, 0, 0, 0, 0)
      : new Date(year ?? 1970, (month ?? 1) - 1, day ?? 1, 23, 59, 59, 999);
  return local.toISOString();
}
