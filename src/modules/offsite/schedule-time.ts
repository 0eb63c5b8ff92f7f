/**
 * The time arithmetic of backup schedules (issue #6): when a schedule runs next, and which run
 * to catch up after Marina was down. Pure: every function takes the time it reasons about, so
 * tests drive time explicitly and the scheduler decides what "now" is.
 *
 * Daylight saving time, the same rules as Vixie cron and croner's fixed-time jobs, for the
 * presets and for cron expressions whose minute and hour fields hold no `*` or step:
 *  - a local time that does not exist (spring forward: 02:30 on 2026-03-29 in Europe/Brussels)
 *    runs at the first valid instant after the gap (03:00 local, on the same day);
 *  - a local time that occurs twice (fall back: 02:30 on 2026-10-25 in Europe/Brussels) runs
 *    once, at the first occurrence.
 * Cron expressions with a `*` or a step in minute or hour (`0,30 * * * *`) are interval jobs:
 * they skip times in a gap and run on both occurrences of a repeated time, so they keep their
 * rhythm through the change, as in Vixie cron.
 */
import { Cron } from 'croner';
import { MarinaError } from '../../platform/errors.js';
import { invalid } from '../../platform/validation.js';

/** ISO 8601 weekday: 1 = Monday … 7 = Sunday (cron expressions keep cron's 0/7 = Sunday). */
export type IsoWeekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export type ScheduleSpec =
  | { kind: 'daily'; time: string; timeZone: string }
  | { kind: 'weekly'; weekday: IsoWeekday; time: string; timeZone: string }
  /**
   * `day` is 1–31. In a month without that day (31 in April, 29–31 in February) the backup
   * runs on the month's last day: a monthly backup that silently skips months is worse than
   * one that runs a day or two early.
   */
  | { kind: 'monthly'; day: number; time: string; timeZone: string }
  /** Five fields (minute hour day-of-month month day-of-week), local to `timeZone`. */
  | { kind: 'cron'; expression: string; timeZone: string };

/** A backup every few minutes only fills the storage and keeps the database busy. */
export const MIN_CRON_INTERVAL_MINUTES = 15;

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const weekdayNames = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
const kinds = ['daily', 'weekly', 'monthly', 'cron'] as const;
const fieldsOf: Record<ScheduleSpec['kind'], readonly string[]> = {
  daily: ['kind', 'time', 'timeZone'],
  weekly: ['kind', 'weekday', 'time', 'timeZone'],
  monthly: ['kind', 'day', 'time', 'timeZone'],
  cron: ['kind', 'expression', 'timeZone'],
};

// ---------------------------------------------------------------------------------------------
// Validation

export function validateSchedule(input: unknown): ScheduleSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid('schedule', 'A schedule is an object with a "kind": daily, weekly, monthly or cron.');
  }
  const raw = input as Record<string, unknown>;
  const kind = kinds.find((k) => k === raw.kind);
  if (!kind) throw invalid('kind', 'The schedule kind must be one of daily, weekly, monthly, cron.');
  for (const key of Object.keys(raw)) {
    if (!fieldsOf[kind].includes(key)) {
      throw invalid(key, `A ${kind} schedule has no "${key}"; it takes ${fieldsOf[kind].join(', ')}.`);
    }
  }
  const timeZone = requireTimeZone(raw.timeZone);
  switch (kind) {
    case 'daily':
      return { kind, time: requireTime(raw.time), timeZone };
    case 'weekly':
      return { kind, weekday: requireWeekday(raw.weekday), time: requireTime(raw.time), timeZone };
    case 'monthly':
      return { kind, day: requireDayOfMonth(raw.day), time: requireTime(raw.time), timeZone };
    case 'cron':
      return { kind, expression: requireCron(raw.expression, timeZone), timeZone };
  }
}

function requireTime(value: unknown): string {
  if (typeof value !== 'string' || !/^(?:[01]\d|2[0-3]):[0-5]\d$/.test(value)) {
    throw invalid('time', 'The time must be HH:MM on a 24-hour clock, from 00:00 to 23:59.');
  }
  return value;
}

function requireWeekday(value: unknown): IsoWeekday {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 7) {
    throw invalid('weekday', 'The weekday must be a whole number from 1 (Monday) to 7 (Sunday).');
  }
  return value as IsoWeekday;
}

function requireDayOfMonth(value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 31) {
    throw invalid('day', 'The day of the month must be a whole number from 1 to 31.');
  }
  return value as number;
}

function requireTimeZone(value: unknown): string {
  // Intl also takes offsets such as "+01:00", which have no daylight saving time and so would
  // drift from the customer's clock twice a year: only region names are schedules' zones.
  if (typeof value !== 'string' || !/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(value)) {
    throw invalid('timeZone', 'The time zone must be an IANA name such as "Europe/Brussels" or "UTC".');
  }
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  } catch (error) {
    if (error instanceof RangeError) throw invalid('timeZone', `"${value}" is not a known IANA time zone.`);
    throw error;
  }
  // Fix the spelling's case only: ICU also maps names to aliases ("Europe/Kyiv" to "Europe/Kiev"
  // on some versions), and the customer's own spelling is the one to show back.
  return resolved.toLowerCase() === value.toLowerCase() ? resolved : value;
}

const cronNames = /\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)\b/gi;

function requireCron(value: unknown, timeZone: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalid('expression', 'A cron expression is required, such as "0 3 * * *" for every day at 03:00.');
  }
  const fields = value.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw invalid(
      'expression',
      `A cron expression has exactly 5 fields (minute hour day-of-month month day-of-week), without seconds; "${value.slice(0, 80)}" has ${fields.length}.`,
    );
  }
  // Croner's extensions (L, W, #, ?, +) are refused so that expressions mean the same in any
  // cron a customer knows, and in whatever Marina might use after croner.
  if (fields.some((field) => !/^[0-9*,/-]+$/.test(field.replace(cronNames, '0')))) {
    throw invalid(
      'expression',
      'A cron expression may only use numbers, month and day names, and * , - /; L, W, #, ? and nicknames such as @daily are not supported.',
    );
  }
  const expression = fields.join(' ');
  let cron: Cron;
  try {
    cron = cronFor(expression, timeZone);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    throw invalid('expression', `"${expression}" is not a valid cron expression: ${reason}`);
  }
  // Every pattern that runs at all runs within eight years (29 February); a fixed reference
  // keeps validation independent of the clock.
  if (cron.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) {
    throw invalid('expression', `"${expression}" never runs (no month has that day).`);
  }
  const gap = smallestGapMinutes(fields[0] ?? '', fields[1] ?? '');
  if (gap < MIN_CRON_INTERVAL_MINUTES) {
    throw invalid(
      'expression',
      `Backups may run at most every ${MIN_CRON_INTERVAL_MINUTES} minutes, but "${expression}" runs ${gap} minute${gap === 1 ? '' : 's'} apart.`,
    );
  }
  return expression;
}

/**
 * The shortest wall-clock distance between two runs, from the minute and hour fields alone:
 * runs on consecutive days are assumed possible, which is conservative for the rare expression
 * that runs just before and after midnight on days that never follow each other.
 */
function smallestGapMinutes(minute: string, hour: string): number {
  const cron = new Cron(`${minute} ${hour} * * *`, { timezone: 'UTC', mode: '5-part' });
  const start = Date.UTC(2000, 0, 1);
  let previous = cron.nextRun(new Date(start - 1000));
  let smallest = Number.POSITIVE_INFINITY;
  // 97 runs in a day cannot all be 15 minutes apart, so the loop stops early or after ~2 days.
  for (let count = 0; previous && previous.getTime() < start + DAY_MS && count < 200; count++) {
    const next = cron.nextRun(previous);
    if (!next) break;
    smallest = Math.min(smallest, (next.getTime() - previous.getTime()) / MINUTE_MS);
    if (smallest < MIN_CRON_INTERVAL_MINUTES) break;
    previous = next;
  }
  return smallest;
}

function cronFor(expression: string, timeZone: string): Cron {
  // No callback: croner only schedules a timer when given a function, so this never fires.
  // "no-wildcard" makes `30 2,14 * * *` a fixed-time job as in Vixie cron, so a listed time in
  // the spring-forward gap runs after the gap instead of being skipped.
  return new Cron(expression, { timezone: timeZone, mode: '5-part', fixedTimeRule: 'no-wildcard' });
}

// ---------------------------------------------------------------------------------------------
// Runs

/** The first run strictly after `after`. */
export function nextRun(spec: ScheduleSpec, after: Date): Date {
  if (spec.kind === 'cron') {
    const next = cronFor(spec.expression, spec.timeZone).nextRun(after);
    if (!next) throw new MarinaError('MARINA_E_INTERNAL', `Cron "${spec.expression}" has no next run.`);
    return next;
  }
  const start = civilDateOf(after.getTime(), spec.timeZone);
  // Each matching day has exactly one run and runs keep the order of their days (a gap moves a
  // run later on the same day, an overlap keeps the first), so the first one after wins.
  for (let offset = -1; offset <= 400; offset++) {
    const date = addDays(start, offset);
    if (!matchesDay(spec, date)) continue;
    const at = runOn(spec, date);
    if (at > after.getTime()) return new Date(at);
  }
  throw new MarinaError('MARINA_E_INTERNAL', `The ${spec.kind} schedule has no next run.`);
}

/**
 * Catch-up after downtime: the latest run in (lastRunAt ?? createdAt, now], or null. Only the
 * latest: a backup taken now covers every run that was missed, and ten backups in a row at
 * start-up would only compete for the same disk.
 */
export function missedRun(spec: ScheduleSpec, lastRunAt: Date | null, createdAt: Date, now: Date): Date | null {
  const since = (lastRunAt ?? createdAt).getTime();
  if (since >= now.getTime()) return null;
  const latest = latestRunAtOrBefore(spec, now);
  return latest !== null && latest.getTime() > since ? latest : null;
}

function latestRunAtOrBefore(spec: ScheduleSpec, now: Date): Date | null {
  if (spec.kind === 'cron') {
    // previousRuns is strictly before its reference; a run exactly at `now` is due, not missed
    // in the future, so it counts.
    const [previous] = cronFor(spec.expression, spec.timeZone).previousRuns(1, new Date(now.getTime() + 1));
    return previous && previous.getTime() <= now.getTime() ? previous : null;
  }
  const start = civilDateOf(now.getTime(), spec.timeZone);
  for (let offset = 1; offset >= -400; offset--) {
    const date = addDays(start, offset);
    if (!matchesDay(spec, date)) continue;
    const at = runOn(spec, date);
    if (at <= now.getTime()) return new Date(at);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Description

export function describeSchedule(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case 'daily':
      return `every day at ${spec.time} (${spec.timeZone})`;
    case 'weekly':
      return `every ${weekdayNames[spec.weekday - 1]} at ${spec.time} (${spec.timeZone})`;
    case 'monthly':
      return spec.day > 28
        ? `on day ${spec.day} of every month at ${spec.time} (${spec.timeZone}; the last day in shorter months)`
        : `on day ${spec.day} of every month at ${spec.time} (${spec.timeZone})`;
    case 'cron':
      return `cron \`${spec.expression}\` (${spec.timeZone})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Calendar and time-zone arithmetic for the presets

type CivilDate = { year: number; month: number; day: number };

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall-clock reading in `timeZone` at `instant`, as milliseconds of a UTC-based count. */
function wallClockMs(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  return Date.UTC(year, month - 1, day, hour % 24, minute, second);
}

/** Milliseconds to add to UTC to read the wall clock in `timeZone` at `instant`. */
function offsetAt(instant: number, timeZone: string): number {
  return wallClockMs(instant, timeZone) - Math.floor(instant / 1000) * 1000;
}

function civilDateOf(instant: number, timeZone: string): CivilDate {
  const wall = new Date(wallClockMs(instant, timeZone));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

function addDays(date: CivilDate, days: number): CivilDate {
  const shifted = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

function matchesDay(spec: Exclude<ScheduleSpec, { kind: 'cron' }>, date: CivilDate): boolean {
  switch (spec.kind) {
    case 'daily':
      return true;
    case 'weekly':
      return ((new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() + 6) % 7) + 1 === spec.weekday;
    case 'monthly':
      return date.day === Math.min(spec.day, daysInMonth(date.year, date.month));
  }
}

function runOn(spec: Exclude<ScheduleSpec, { kind: 'cron' }>, date: CivilDate): number {
  const [hour = 0, minute = 0] = spec.time.split(':').map(Number);
  return instantOf(Date.UTC(date.year, date.month - 1, date.day, hour, minute), spec.timeZone);
}

/**
 * The instant a wall-clock reading happens in `timeZone`: the first of two in a fall-back
 * overlap, the end of the gap for a reading that spring-forward skips.
 */
function instantOf(wall: number, timeZone: string): number {
  // The offsets a day either side bracket any transition near `wall` (zones change at most
  // once in a few days), so the candidates are the instants under each of them.
  const offsets = [...new Set([offsetAt(wall - DAY_MS, timeZone), offsetAt(wall + DAY_MS, timeZone)])];
  const valid = offsets.map((o) => wall - o).filter((t) => wallClockMs(t, timeZone) === wall);
  if (valid.length > 0) return Math.min(...valid);
  // In a gap: read under the later (larger) offset the time is before the jump, under the
  // earlier one after it; the jump itself is the first valid instant after the gap.
  let before = wall - Math.max(...offsets);
  let after = wall - Math.min(...offsets);
  const offsetBefore = offsetAt(before, timeZone);
  while (after - before > 1000) {
    const middle = before + Math.floor((after - before) / 2000) * 1000;
    if (offsetAt(middle, timeZone) === offsetBefore) before = middle;
    else after = middle;
  }
  return after;
}
