import type { ScheduleSpec } from '../api/types.js';
import { wholeNumber } from '../args.js';
import { CliUsageError } from '../errors.js';
import { machineTimeZone } from '../time.js';

/** A schedule's timing from `--daily`, `--weekly`, `--monthly`, `--cron` and `--tz`, checked here. */

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

function parseTime(value: string, option: string): string {
  const match = /^(\d{1,2}):(\d{2})$/.exec(value.trim());
  const hour = Number(match?.[1]);
  const minute = Number(match?.[2]);
  if (!match || hour > 23 || minute > 59)
    throw new CliUsageError(`${option}: "${value}" is not a time: give HH:MM on a 24-hour clock, 00:00 to 23:59.`);
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

function parseWeekday(value: string, option: string): number {
  const text = value.trim().toLowerCase();
  if (/^[1-7]$/.test(text)) return Number(text);
  const index = WEEKDAYS.findIndex((d, i) => text === d || text === WEEKDAY_NAMES[i]?.toLowerCase());
  if (index < 0)
    throw new CliUsageError(
      `${option}: "${value}" is not a weekday: give mon, tue, wed, thu, fri, sat, sun or 1 (Monday) to 7 (Sunday).`,
    );
  return index + 1;
}

/** "<day>@HH:MM", split. */
function dayAt(value: string, option: string, example: string): [string, string] {
  const at = value.lastIndexOf('@');
  if (at <= 0) throw new CliUsageError(`${option}: "${value}" is not DAY@HH:MM, e.g. ${example}.`);
  return [value.slice(0, at), value.slice(at + 1)];
}

export function checkTimeZone(value: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(value))
    throw new CliUsageError(`--tz: "${value}" is not an IANA time zone such as Europe/Brussels or UTC.`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw new CliUsageError(`--tz: "${value}" is not a known IANA time zone (e.g. Europe/Brussels, UTC).`);
  }
  return value;
}

export interface TimingOptions {
  daily?: string;
  weekly?: string;
  monthly?: string;
  cron?: string;
  tz?: string;
}

/** The spec the options describe: the current one when they name no timing; undefined without either. */
export function specFrom(opts: TimingOptions, current: ScheduleSpec | undefined): ScheduleSpec | undefined {
  const given = (['daily', 'weekly', 'monthly', 'cron'] as const).filter((k) => opts[k] !== undefined);
  if (given.length > 1)
    throw new CliUsageError(
      `Give one of --daily, --weekly, --monthly or --cron, not ${given.map((k) => `--${k}`).join(' and ')}.`,
    );
  const timeZone = checkTimeZone(opts.tz ?? current?.timeZone ?? machineTimeZone());
  if (opts.daily !== undefined) return { kind: 'daily', time: parseTime(opts.daily, '--daily'), timeZone };
  if (opts.weekly !== undefined) {
    const [day, time] = dayAt(opts.weekly, '--weekly', 'sun@02:00');
    return { kind: 'weekly', weekday: parseWeekday(day, '--weekly'), time: parseTime(time, '--weekly'), timeZone };
  }
  if (opts.monthly !== undefined) {
    const [day, time] = dayAt(opts.monthly, '--monthly', '1@03:30');
    return {
      kind: 'monthly',
      day: wholeNumber(day, '--monthly (day)', 1, 31),
      time: parseTime(time, '--monthly'),
      timeZone,
    };
  }
  if (opts.cron !== undefined) {
    const fields = opts.cron.trim().split(/\s+/).filter(Boolean);
    if (fields.length !== 5)
      throw new CliUsageError(
        `--cron: "${opts.cron}" has ${fields.length} field(s); give 5 (minute hour day-of-month month day-of-week), e.g. '30 2 * * *'.`,
      );
    return { kind: 'cron', expression: fields.join(' '), timeZone };
  }
  // No timing given: the current one stays (in another zone when --tz says so).
  if (current) return opts.tz === undefined ? current : ({ ...current, timeZone } as ScheduleSpec);
  return undefined;
}
