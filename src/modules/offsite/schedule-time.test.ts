import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { MarinaError } from '../../platform/errors.js';
import { describeSchedule, missedRun, nextRun, type ScheduleSpec, validateSchedule } from './schedule-time.js';

const at = (iso: string) => new Date(iso);
const daily = (time: string, timeZone: string): ScheduleSpec => ({ kind: 'daily', time, timeZone });
const cron = (expression: string, timeZone: string): ScheduleSpec => ({ kind: 'cron', expression, timeZone });

/** The next `count` runs after `from`, as ISO strings for readable failures. */
function runs(spec: ScheduleSpec, from: string, count: number): string[] {
  const out: string[] = [];
  let cursor = at(from);
  for (let i = 0; i < count; i++) {
    cursor = nextRun(spec, cursor);
    out.push(cursor.toISOString());
  }
  return out;
}

function validationError(input: unknown): MarinaError {
  try {
    validateSchedule(input);
  } catch (error) {
    if (error instanceof MarinaError) return error;
    throw error;
  }
  throw new Error(`${JSON.stringify(input)} was accepted`);
}

describe('presets', () => {
  it('runs daily at a local time in each zone', () => {
    expect(runs(daily('02:30', 'UTC'), '2026-06-01T02:30:00Z', 2)).toEqual([
      '2026-06-02T02:30:00.000Z',
      '2026-06-03T02:30:00.000Z',
    ]);
    // Winter and summer offsets: CET +1 / CEST +2, EST -5 / EDT -4.
    expect(runs(daily('02:30', 'Europe/Brussels'), '2026-01-10T00:00:00Z', 1)).toEqual(['2026-01-10T01:30:00.000Z']);
    expect(runs(daily('02:30', 'Europe/Brussels'), '2026-07-10T00:00:00Z', 1)).toEqual(['2026-07-10T00:30:00.000Z']);
    // 19:00 on 9 January in New York: that evening's 23:15 is already 10 January in UTC.
    expect(runs(daily('23:15', 'America/New_York'), '2026-01-10T00:00:00Z', 1)).toEqual(['2026-01-10T04:15:00.000Z']);
    expect(runs(daily('23:15', 'America/New_York'), '2026-07-10T00:00:00Z', 1)).toEqual(['2026-07-10T03:15:00.000Z']);
  });

  it('is strictly after the reference, to the millisecond', () => {
    const spec = daily('02:30', 'UTC');
    expect(nextRun(spec, at('2026-06-01T02:29:59.999Z')).toISOString()).toBe('2026-06-01T02:30:00.000Z');
    expect(nextRun(spec, at('2026-06-01T02:30:00.000Z')).toISOString()).toBe('2026-06-02T02:30:00.000Z');
  });

  it('runs weekly on an ISO weekday, across a year boundary', () => {
    const monday: ScheduleSpec = { kind: 'weekly', weekday: 1, time: '03:00', timeZone: 'UTC' };
    // 2026-12-28 and 2027-01-04 are Mondays.
    expect(runs(monday, '2026-12-28T03:00:00Z', 2)).toEqual(['2027-01-04T03:00:00.000Z', '2027-01-11T03:00:00.000Z']);
    const sunday: ScheduleSpec = { kind: 'weekly', weekday: 7, time: '23:30', timeZone: 'Europe/Brussels' };
    expect(runs(sunday, '2026-12-28T00:00:00Z', 1)).toEqual(['2027-01-03T22:30:00.000Z']);
    // 23:30 on Saturday 2 January in New York is already Sunday in UTC.
    const saturday: ScheduleSpec = { kind: 'weekly', weekday: 6, time: '23:30', timeZone: 'America/New_York' };
    expect(runs(saturday, '2026-12-27T05:00:00Z', 1)).toEqual(['2027-01-03T04:30:00.000Z']);
  });

  it('runs monthly on the 31st, on the last day of shorter months', () => {
    const spec: ScheduleSpec = { kind: 'monthly', day: 31, time: '01:00', timeZone: 'America/New_York' };
    expect(runs(spec, '2026-01-31T06:00:00Z', 4)).toEqual([
      '2026-02-28T06:00:00.000Z',
      '2026-03-31T05:00:00.000Z',
      '2026-04-30T05:00:00.000Z',
      '2026-05-31T05:00:00.000Z',
    ]);
    const thirtieth: ScheduleSpec = { kind: 'monthly', day: 30, time: '01:00', timeZone: 'Europe/Brussels' };
    expect(runs(thirtieth, '2026-01-31T00:00:00Z', 2)).toEqual([
      '2026-02-28T00:00:00.000Z',
      '2026-03-29T23:00:00.000Z',
    ]);
    // Leap year: 29 February exists in 2028.
    expect(runs(thirtieth, '2028-02-01T00:00:00Z', 1)).toEqual(['2028-02-29T00:00:00.000Z']);
    const fifteenth: ScheduleSpec = { kind: 'monthly', day: 15, time: '12:00', timeZone: 'UTC' };
    expect(runs(fifteenth, '2026-12-15T12:00:00Z', 1)).toEqual(['2027-01-15T12:00:00.000Z']);
  });
});

describe('daylight saving time', () => {
  it('Europe/Brussels, spring forward on 2026-03-29: 02:30 does not exist and runs at 03:00', () => {
    expect(runs(daily('02:30', 'Europe/Brussels'), '2026-03-28T12:00:00Z', 2)).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    expect(runs(daily('01:30', 'Europe/Brussels'), '2026-03-28T12:00:00Z', 2)).toEqual([
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T23:30:00.000Z',
    ]);
    expect(runs(daily('04:00', 'Europe/Brussels'), '2026-03-28T12:00:00Z', 1)).toEqual(['2026-03-29T02:00:00.000Z']);
  });

  it('Europe/Brussels, fall back on 2026-10-25: 02:30 happens twice and runs once, at the first', () => {
    expect(runs(daily('02:30', 'Europe/Brussels'), '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    expect(runs(daily('04:00', 'Europe/Brussels'), '2026-10-24T12:00:00Z', 1)).toEqual(['2026-10-25T03:00:00.000Z']);
  });

  it('America/New_York, spring forward on 2026-03-08: 02:30 runs at 03:00 EDT', () => {
    expect(runs(daily('02:30', 'America/New_York'), '2026-03-07T12:00:00Z', 2)).toEqual([
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
    ]);
    expect(runs(daily('12:00', 'America/New_York'), '2026-03-07T18:00:00Z', 1)).toEqual(['2026-03-08T16:00:00.000Z']);
  });

  it('America/New_York, fall back on 2026-11-01: 01:30 runs once, at 01:30 EDT', () => {
    expect(runs(daily('01:30', 'America/New_York'), '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
    expect(runs(daily('02:30', 'America/New_York'), '2026-10-31T12:00:00Z', 1)).toEqual(['2026-11-01T07:30:00.000Z']);
  });

  it('weekly and monthly runs follow the same rules', () => {
    // Both change days are Sundays.
    const sunday: ScheduleSpec = { kind: 'weekly', weekday: 7, time: '02:30', timeZone: 'Europe/Brussels' };
    expect(runs(sunday, '2026-03-23T00:00:00Z', 1)).toEqual(['2026-03-29T01:00:00.000Z']);
    expect(runs(sunday, '2026-10-19T00:00:00Z', 1)).toEqual(['2026-10-25T00:30:00.000Z']);
    const monthly: ScheduleSpec = { kind: 'monthly', day: 8, time: '02:15', timeZone: 'America/New_York' };
    expect(runs(monthly, '2026-03-01T00:00:00Z', 1)).toEqual(['2026-03-08T07:00:00.000Z']);
  });

  it('presets agree with a fixed-time cron job in croner, around every change', () => {
    for (const timeZone of ['Europe/Brussels', 'America/New_York', 'UTC']) {
      for (const time of ['00:00', '01:00', '01:30', '02:00', '02:30', '02:59', '03:00', '12:00', '23:59']) {
        const [hour, minute] = time.split(':').map(Number);
        const croner = new Cron(`${minute} ${hour} * * *`, { timezone: timeZone, mode: '5-part' });
        for (const from of [
          '2026-03-06T00:00:00Z',
          '2026-03-27T00:00:00Z',
          '2026-10-23T00:00:00Z',
          '2026-10-30T00:00:00Z',
        ]) {
          const expected = croner.nextRuns(4, at(from)).map((d) => d.toISOString());
          expect(runs(daily(time, timeZone), from, 4), `${time} ${timeZone} from ${from}`).toEqual(expected);
        }
      }
    }
  });
});

describe('cron', () => {
  it('runs in the schedule’s time zone', () => {
    expect(runs(cron('0 */6 * * *', 'UTC'), '2026-05-01T05:59:00Z', 2)).toEqual([
      '2026-05-01T06:00:00.000Z',
      '2026-05-01T12:00:00.000Z',
    ]);
    expect(runs(cron('0 3 * * *', 'Europe/Brussels'), '2026-05-01T00:00:00Z', 1)).toEqual(['2026-05-01T01:00:00.000Z']);
    expect(runs(cron('0 3 * * *', 'America/New_York'), '2026-05-01T00:00:00Z', 1)).toEqual([
      '2026-05-01T07:00:00.000Z',
    ]);
  });

  it('honours the day of week (0 and 7 are Sunday, names work)', () => {
    // Friday 2 January 2026, then the weekend is skipped.
    expect(runs(cron('0 3 * * 1-5', 'America/New_York'), '2026-01-02T12:00:00Z', 2)).toEqual([
      '2026-01-05T08:00:00.000Z',
      '2026-01-06T08:00:00.000Z',
    ]);
    expect(runs(cron('30 22 * * SUN', 'Europe/Brussels'), '2026-12-28T00:00:00Z', 1)).toEqual([
      '2027-01-03T21:30:00.000Z',
    ]);
    expect(nextRun(cron('0 1 * * 7', 'UTC'), at('2026-01-01T00:00:00Z'))).toEqual(
      nextRun(cron('0 1 * * 0', 'UTC'), at('2026-01-01T00:00:00Z')),
    );
    // Day of month and day of week restricted together: either matches, as in Vixie cron.
    expect(runs(cron('0 4 1 * MON', 'UTC'), '2026-05-26T00:00:00Z', 3)).toEqual([
      '2026-06-01T04:00:00.000Z',
      '2026-06-08T04:00:00.000Z',
      '2026-06-15T04:00:00.000Z',
    ]);
  });

  it('fixed-time jobs on the change days, with a day of week (both are Sundays)', () => {
    expect(runs(cron('0 2 * * 0', 'Europe/Brussels'), '2026-03-28T00:00:00Z', 1)).toEqual(['2026-03-29T01:00:00.000Z']);
    expect(runs(cron('30 2 * * 0', 'Europe/Brussels'), '2026-10-24T00:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-11-01T01:30:00.000Z',
    ]);
    expect(runs(cron('30 2 * * 0', 'America/New_York'), '2026-03-07T00:00:00Z', 1)).toEqual([
      '2026-03-08T07:00:00.000Z',
    ]);
    expect(runs(cron('30 1 * * 0', 'America/New_York'), '2026-10-31T00:00:00Z', 2)).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-08T06:30:00.000Z',
    ]);
    // A listed hour is a fixed time too: 02:30 is not lost in the gap.
    expect(runs(cron('30 1,2 * * *', 'Europe/Brussels'), '2026-03-28T12:00:00Z', 3)).toEqual([
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T23:30:00.000Z',
    ]);
  });

  it('interval jobs keep their rhythm through the changes', () => {
    expect(runs(cron('0,30 * * * *', 'Europe/Brussels'), '2026-10-24T23:59:00Z', 5)).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
    expect(runs(cron('*/30 * * * *', 'America/New_York'), '2026-03-08T06:10:00Z', 3)).toEqual([
      '2026-03-08T06:30:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-08T07:30:00.000Z',
    ]);
  });
});

describe('catch-up after downtime', () => {
  const spec = daily('02:30', 'Europe/Brussels');
  const created = at('2026-05-01T00:00:00Z');

  it('Marina down for 3 days: one missed run, the latest', () => {
    expect(missedRun(spec, at('2026-06-01T00:30:00Z'), created, at('2026-06-04T10:00:00Z'))).toEqual(
      at('2026-06-04T00:30:00Z'),
    );
    expect(
      missedRun(cron('0 */6 * * *', 'UTC'), at('2026-06-01T06:00:00Z'), created, at('2026-06-04T05:00:00Z')),
    ).toEqual(at('2026-06-04T00:00:00Z'));
    const weekly: ScheduleSpec = { kind: 'weekly', weekday: 1, time: '03:00', timeZone: 'America/New_York' };
    // Down from Sunday 27 December to Friday 8 January: Mondays 28 December and 4 January missed.
    expect(missedRun(weekly, at('2026-12-21T08:00:00Z'), created, at('2027-01-08T12:00:00Z'))).toEqual(
      at('2027-01-04T08:00:00Z'),
    );
  });

  it('down less than one interval: nothing missed', () => {
    expect(missedRun(spec, at('2026-06-01T00:30:00Z'), created, at('2026-06-01T20:00:00Z'))).toBeNull();
    expect(
      missedRun(cron('0 */6 * * *', 'UTC'), at('2026-06-01T06:00:00Z'), created, at('2026-06-01T11:59:00Z')),
    ).toBeNull();
  });

  it('a last run after the latest instant: nothing missed', () => {
    expect(missedRun(spec, at('2026-06-04T00:45:00Z'), created, at('2026-06-04T10:00:00Z'))).toBeNull();
    expect(missedRun(spec, at('2026-06-04T00:30:00Z'), created, at('2026-06-04T10:00:00Z'))).toBeNull();
  });

  it('counts from creation when the schedule never ran, and a run due exactly now', () => {
    expect(missedRun(spec, null, at('2026-06-03T12:00:00Z'), at('2026-06-04T10:00:00Z'))).toEqual(
      at('2026-06-04T00:30:00Z'),
    );
    expect(missedRun(spec, null, at('2026-06-04T01:00:00Z'), at('2026-06-04T10:00:00Z'))).toBeNull();
    expect(missedRun(spec, null, at('2026-06-03T12:00:00Z'), at('2026-06-04T00:30:00Z'))).toEqual(
      at('2026-06-04T00:30:00Z'),
    );
    expect(missedRun(cron('0 */6 * * *', 'UTC'), null, at('2026-06-04T05:00:00Z'), at('2026-06-04T06:00:00Z'))).toEqual(
      at('2026-06-04T06:00:00Z'),
    );
    expect(missedRun(spec, null, at('2026-06-04T10:00:00Z'), at('2026-06-04T09:00:00Z'))).toBeNull();
  });

  it('catches up a run moved by the spring-forward gap', () => {
    expect(missedRun(spec, at('2026-03-28T01:30:00Z'), created, at('2026-03-29T01:30:00Z'))).toEqual(
      at('2026-03-29T01:00:00Z'),
    );
    const monthly: ScheduleSpec = { kind: 'monthly', day: 31, time: '01:00', timeZone: 'UTC' };
    expect(missedRun(monthly, at('2026-01-31T01:00:00Z'), created, at('2026-03-15T00:00:00Z'))).toEqual(
      at('2026-02-28T01:00:00Z'),
    );
  });
});

describe('validateSchedule', () => {
  it('accepts every kind and normalises spelling', () => {
    expect(validateSchedule({ kind: 'daily', time: '00:00', timeZone: 'Europe/Brussels' })).toEqual({
      kind: 'daily',
      time: '00:00',
      timeZone: 'Europe/Brussels',
    });
    expect(validateSchedule({ kind: 'weekly', weekday: 7, time: '23:59', timeZone: 'utc' })).toEqual({
      kind: 'weekly',
      weekday: 7,
      time: '23:59',
      timeZone: 'UTC',
    });
    expect(validateSchedule({ kind: 'monthly', day: 31, time: '01:00', timeZone: 'America/New_York' })).toMatchObject({
      day: 31,
    });
    expect(validateSchedule({ kind: 'cron', expression: '  0   3 * * 1-5 ', timeZone: 'UTC' })).toEqual({
      kind: 'cron',
      expression: '0 3 * * 1-5',
      timeZone: 'UTC',
    });
    for (const expression of ['*/15 * * * *', '0,15,30,45 * * * *', '0 0 29 2 *', '0 3 * jan-mar mon-fri']) {
      expect(validateSchedule({ kind: 'cron', expression, timeZone: 'UTC' })).toMatchObject({ expression });
    }
  });

  it('refuses bad times, weekdays and days', () => {
    for (const time of ['24:00', '2:30', '02:60', '02:30:00', ' 02:30', 230, undefined]) {
      const error = validationError({ kind: 'daily', time, timeZone: 'UTC' });
      expect(error.code).toBe('MARINA_E_VALIDATION');
      expect(error.details).toEqual({ field: 'time' });
      expect(error.message).toContain('HH:MM');
    }
    for (const weekday of [0, 8, 1.5, '1']) {
      expect(validationError({ kind: 'weekly', weekday, time: '03:00', timeZone: 'UTC' }).details).toEqual({
        field: 'weekday',
      });
    }
    for (const day of [0, 32, 15.5, '15']) {
      expect(validationError({ kind: 'monthly', day, time: '03:00', timeZone: 'UTC' }).details).toEqual({
        field: 'day',
      });
    }
  });

  it('refuses unknown time zones and fixed offsets', () => {
    for (const timeZone of ['Mars/Olympus', 'Europe/Brusels', '+01:00', 'UTC+1', '', 42, undefined]) {
      const error = validationError({ kind: 'daily', time: '02:30', timeZone });
      expect(error.code).toBe('MARINA_E_VALIDATION');
      expect(error.details).toEqual({ field: 'timeZone' });
    }
    expect(validationError({ kind: 'daily', time: '02:30', timeZone: 'Mars/Olympus' }).message).toBe(
      '"Mars/Olympus" is not a known IANA time zone.',
    );
  });

  it('refuses cron expressions that run more often than every 15 minutes', () => {
    const cases: [string, number][] = [
      ['*/5 * * * *', 5],
      ['* * * * *', 1],
      ['0,10 * * * *', 10],
      ['0-59/14 3 * * *', 14],
      // 23:55 then 00:05 the next day.
      ['5,55 0,23 * * *', 10],
    ];
    for (const [expression, gap] of cases) {
      const error = validationError({ kind: 'cron', expression, timeZone: 'UTC' });
      expect(error.details).toEqual({ field: 'expression' });
      expect(error.message).toBe(
        `Backups may run at most every 15 minutes, but "${expression}" runs ${gap} minute${gap === 1 ? '' : 's'} apart.`,
      );
    }
  });

  it('refuses cron expressions that are not five plain fields', () => {
    const sixFields = validationError({ kind: 'cron', expression: '0 0 3 * * *', timeZone: 'UTC' });
    expect(sixFields.details).toEqual({ field: 'expression' });
    expect(sixFields.message).toContain('exactly 5 fields');
    expect(sixFields.message).toContain('without seconds');
    for (const expression of [
      '0 3 * *',
      '@daily',
      '0 3 L * *',
      '0 3 * * 5#2',
      '0 3 ? * *',
      '0 3 * * +1',
      'a b c d e',
    ]) {
      expect(validationError({ kind: 'cron', expression, timeZone: 'UTC' }).details).toEqual({ field: 'expression' });
    }
    expect(validationError({ kind: 'cron', expression: '61 3 * * *', timeZone: 'UTC' }).message).toMatch(
      /^"61 3 \* \* \*" is not a valid cron expression: /,
    );
    expect(validationError({ kind: 'cron', expression: '0 3 31 2 *', timeZone: 'UTC' }).message).toContain(
      'never runs',
    );
  });

  it('refuses other shapes', () => {
    expect(validationError(null).details).toEqual({ field: 'schedule' });
    expect(validationError('daily').details).toEqual({ field: 'schedule' });
    expect(validationError({ kind: 'hourly', timeZone: 'UTC' }).details).toEqual({ field: 'kind' });
    expect(validationError({ kind: 'daily', time: '02:30', timeZone: 'UTC', weekday: 1 }).details).toEqual({
      field: 'weekday',
    });
  });
});

describe('describeSchedule', () => {
  it('says when it runs, in words', () => {
    expect(describeSchedule(daily('02:30', 'Europe/Brussels'))).toBe('every day at 02:30 (Europe/Brussels)');
    expect(describeSchedule({ kind: 'weekly', weekday: 1, time: '03:00', timeZone: 'UTC' })).toBe(
      'every Monday at 03:00 (UTC)',
    );
    expect(describeSchedule({ kind: 'weekly', weekday: 7, time: '03:00', timeZone: 'UTC' })).toBe(
      'every Sunday at 03:00 (UTC)',
    );
    expect(describeSchedule({ kind: 'monthly', day: 31, time: '01:00', timeZone: 'America/New_York' })).toBe(
      'on day 31 of every month at 01:00 (America/New_York; the last day in shorter months)',
    );
    expect(describeSchedule({ kind: 'monthly', day: 28, time: '01:00', timeZone: 'UTC' })).toBe(
      'on day 28 of every month at 01:00 (UTC)',
    );
    expect(describeSchedule(cron('0 */6 * * *', 'UTC'))).toBe('cron `0 */6 * * *` (UTC)');
  });
});
