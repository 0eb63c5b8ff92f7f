import { describe, expect, it } from 'vitest';
import { MarinaError } from '../../platform/errors.js';
import {
  defaultRetention,
  planRetention,
  type RetentionBackup,
  type RetentionPlan,
  type RetentionPolicy,
  validateRetention,
} from './retention.js';

const backup = (id: string, iso: string, extra: Partial<RetentionBackup> = {}): RetentionBackup => ({
  id,
  createdAt: new Date(iso),
  pinned: false,
  status: 'completed',
  ...extra,
});

const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ last: 0, daily: 0, weekly: 0, monthly: 0, ...p });

const keptIds = (plan: RetentionPlan): string[] => plan.keep.map((k) => k.id);
const deletedIds = (plan: RetentionPlan): string[] => plan.delete.map((d) => d.id);
const reasonsOf = (plan: RetentionPlan, id: string): string[] | undefined =>
  plan.keep.find((k) => k.id === id)?.reasons;

/** The ISO week label a single completed backup gets under a weekly-only policy. */
const weekOf = (iso: string, timeZone = 'UTC'): string | undefined =>
  planRetention([backup('x', iso)], policy({ weekly: 1 }), timeZone).keep[0]?.reasons[0];

describe('retention: worked examples', () => {
  // 60 daily backups, 2026-09-23 … 2026-11-21 (a Saturday), at 01:00 UTC = 02:00/03:00 in Brussels.
  const days: string[] = [];
  for (let t = Date.UTC(2026, 8, 23); t <= Date.UTC(2026, 10, 21); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  const history = days.map((day) => backup(`b-${day}`, `${day}T01:00:00Z`));

  it('keeps 7 daily + the extra weekly and monthly ones from 60 days with the default policy', () => {
    expect(days).toHaveLength(60);
    const plan = planRetention(history, defaultRetention, 'Europe/Brussels');
    // daily: Nov 21…15; weekly: W47→Nov 21, W46→Nov 15, W45 (Nov 2–8)→Nov 8, W44 (Oct 26–Nov 1)→Nov 1;
    // monthly: Nov→Nov 21, Oct→Oct 31, Sep→Sep 30.
    expect(keptIds(plan)).toEqual([
      'b-2026-11-21',
      'b-2026-11-20',
      'b-2026-11-19',
      'b-2026-11-18',
      'b-2026-11-17',
      'b-2026-11-16',
      'b-2026-11-15',
      'b-2026-11-08',
      'b-2026-11-01',
      'b-2026-10-31',
      'b-2026-09-30',
    ]);
    expect(plan.delete).toHaveLength(49);
    expect(deletedIds(plan)[0]).toBe('b-2026-11-14');
    expect(deletedIds(plan).at(-1)).toBe('b-2026-09-23');
    expect(reasonsOf(plan, 'b-2026-11-21')).toEqual(['daily 2026-11-21', 'weekly 2026-W47', 'monthly 2026-11']);
    expect(reasonsOf(plan, 'b-2026-11-15')).toEqual(['daily 2026-11-15', 'weekly 2026-W46']);
    expect(reasonsOf(plan, 'b-2026-11-08')).toEqual(['weekly 2026-W45']);
    expect(reasonsOf(plan, 'b-2026-11-01')).toEqual(['weekly 2026-W44']);
    expect(reasonsOf(plan, 'b-2026-10-31')).toEqual(['monthly 2026-10']);
    expect(reasonsOf(plan, 'b-2026-09-30')).toEqual(['monthly 2026-09']);
  });

  it('gives the same plan whatever order the backups come in', () => {
    const shuffled = [...history].reverse();
    shuffled.push(...shuffled.splice(0, 17));
    expect(planRetention(shuffled, defaultRetention, 'Europe/Brussels')).toEqual(
      planRetention(history, defaultRetention, 'Europe/Brussels'),
    );
  });

  it('keeps the newest backup of each day, and "last" counts every backup', () => {
    const backups = [
      backup('d2-late', '2026-05-02T18:00:00Z'),
      backup('d2-noon', '2026-05-02T12:00:00Z'),
      backup('d2-early', '2026-05-02T06:00:00Z'),
      backup('d1-late', '2026-05-01T18:00:00Z'),
      backup('d1-early', '2026-05-01T06:00:00Z'),
    ];
    const daily = planRetention(backups, policy({ daily: 5 }), 'UTC');
    expect(keptIds(daily)).toEqual(['d2-late', 'd1-late']);
    expect(deletedIds(daily)).toEqual(['d2-noon', 'd2-early', 'd1-early']);

    const last = planRetention(backups, policy({ last: 3, daily: 2 }), 'UTC');
    expect(last.keep).toEqual([
      { id: 'd2-late', reasons: ['last', 'daily 2026-05-02'] },
      { id: 'd2-noon', reasons: ['last'] },
      { id: 'd2-early', reasons: ['last'] },
      { id: 'd1-late', reasons: ['daily 2026-05-01'] },
    ]);
  });

  it('counts only days that have a backup, however far back they are', () => {
    const backups = [
      backup('now', '2026-06-30T10:00:00Z'),
      backup('a-month-ago', '2026-05-30T10:00:00Z'),
      backup('a-year-ago', '2025-06-30T10:00:00Z'),
      backup('older', '2025-01-01T10:00:00Z'),
    ];
    expect(keptIds(planRetention(backups, policy({ daily: 3 }), 'UTC'))).toEqual(['now', 'a-month-ago', 'a-year-ago']);
  });

  it('starts ISO weeks on Monday', () => {
    expect(weekOf('2026-11-22T12:00:00Z')).toBe('weekly 2026-W47'); // Sunday
    expect(weekOf('2026-11-23T12:00:00Z')).toBe('weekly 2026-W48'); // Monday
    const plan = planRetention(
      [
        backup('mon', '2026-11-23T08:00:00Z'),
        backup('sun', '2026-11-22T20:00:00Z'),
        backup('sat', '2026-11-21T20:00:00Z'),
      ],
      policy({ weekly: 2 }),
      'UTC',
    );
    expect(plan.keep).toEqual([
      { id: 'mon', reasons: ['weekly 2026-W48'] },
      { id: 'sun', reasons: ['weekly 2026-W47'] },
    ]);
    expect(deletedIds(plan)).toEqual(['sat']);
  });

  it('gives days around New Year the ISO week-year of their Thursday', () => {
    expect(weekOf('2026-12-28T12:00:00Z')).toBe('weekly 2026-W53'); // Monday
    expect(weekOf('2026-12-31T12:00:00Z')).toBe('weekly 2026-W53'); // Thursday
    expect(weekOf('2027-01-03T12:00:00Z')).toBe('weekly 2026-W53'); // Sunday
    expect(weekOf('2027-01-04T12:00:00Z')).toBe('weekly 2027-W01'); // Monday
    expect(weekOf('2024-12-30T12:00:00Z')).toBe('weekly 2025-W01'); // Monday, week holds 2025-01-02 (Thu)
    expect(weekOf('2026-01-01T12:00:00Z')).toBe('weekly 2026-W01'); // Thursday
    expect(weekOf('2025-12-28T12:00:00Z')).toBe('weekly 2025-W52'); // Sunday
    expect(weekOf('2021-01-03T12:00:00Z')).toBe('weekly 2020-W53'); // Sunday
    expect(weekOf('2023-01-01T12:00:00Z')).toBe('weekly 2022-W52'); // Sunday
  });

  it('uses the calendar of the given time zone', () => {
    const lateUtc = backup('late', '2026-11-21T23:30:00Z');
    expect(planRetention([lateUtc], policy({ daily: 1 }), 'Europe/Brussels').keep[0]?.reasons).toEqual([
      'daily 2026-11-22',
    ]);
    expect(planRetention([lateUtc], policy({ daily: 1 }), 'America/New_York').keep[0]?.reasons).toEqual([
      'daily 2026-11-21',
    ]);
    // 22:30 and 23:30 UTC: two days in Brussels, one day in New York.
    const two = [lateUtc, backup('earlier', '2026-11-21T22:30:00Z')];
    expect(keptIds(planRetention(two, policy({ daily: 2 }), 'Europe/Brussels'))).toEqual(['late', 'earlier']);
    expect(keptIds(planRetention(two, policy({ daily: 2 }), 'America/New_York'))).toEqual(['late']);
    // Month and ISO week move with the day: Sunday 2026-11-29 23:30 UTC is Monday 30th in Brussels.
    expect(weekOf('2026-11-29T23:30:00Z', 'Europe/Brussels')).toBe('weekly 2026-W49');
    expect(weekOf('2026-11-29T23:30:00Z', 'America/New_York')).toBe('weekly 2026-W48');
    const monthEnd = [backup('m', '2026-11-30T23:30:00Z')];
    expect(planRetention(monthEnd, policy({ monthly: 1 }), 'Europe/Brussels').keep[0]?.reasons).toEqual([
      'monthly 2026-12',
    ]);
    expect(planRetention(monthEnd, policy({ monthly: 1 }), 'America/New_York').keep[0]?.reasons).toEqual([
      'monthly 2026-11',
    ]);
  });

  it('neither merges nor splits the 23-hour day when Brussels springs forward (2026-03-29)', () => {
    const backups = [
      backup('mar30-start', '2026-03-29T22:00:00Z'), // 00:00 CEST on the 30th
      backup('mar29-end', '2026-03-29T21:59:00Z'), // 23:59 CEST
      backup('mar29-after-jump', '2026-03-29T01:00:00Z'), // 03:00 CEST, right after the jump
      backup('mar29-start', '2026-03-28T23:00:00Z'), // 00:00 CET
      backup('mar28-end', '2026-03-28T22:59:00Z'), // 23:59 CET on the 28th
    ];
    const plan = planRetention(backups, policy({ daily: 10 }), 'Europe/Brussels');
    expect(plan.keep).toEqual([
      { id: 'mar30-start', reasons: ['daily 2026-03-30'] },
      { id: 'mar29-end', reasons: ['daily 2026-03-29'] },
      { id: 'mar28-end', reasons: ['daily 2026-03-28'] },
    ]);
    expect(deletedIds(plan)).toEqual(['mar29-after-jump', 'mar29-start']);
  });

  it('neither merges nor splits the 25-hour day when Brussels falls back (2026-10-25)', () => {
    const backups = [
      backup('oct26-start', '2026-10-25T23:00:00Z'), // 00:00 CET on the 26th
      backup('oct25-end', '2026-10-25T22:59:00Z'), // 23:59 CET
      backup('oct25-second-0230', '2026-10-25T01:30:00Z'), // 02:30 CET, the repeated hour
      backup('oct25-first-0230', '2026-10-25T00:30:00Z'), // 02:30 CEST
      backup('oct25-start', '2026-10-24T22:00:00Z'), // 00:00 CEST
      backup('oct24-end', '2026-10-24T21:59:00Z'), // 23:59 CEST on the 24th
    ];
    const plan = planRetention(backups, policy({ daily: 10 }), 'Europe/Brussels');
    expect(plan.keep).toEqual([
      { id: 'oct26-start', reasons: ['daily 2026-10-26'] },
      { id: 'oct25-end', reasons: ['daily 2026-10-25'] },
      { id: 'oct24-end', reasons: ['daily 2026-10-24'] },
    ]);
    expect(deletedIds(plan)).toEqual(['oct25-second-0230', 'oct25-first-0230', 'oct25-start']);
  });

  it('always keeps pinned backups, and a pinned backup fills the slot of its period as in restic', () => {
    const backups = [
      backup('today-pinned', '2026-05-02T18:00:00Z', { pinned: true }),
      backup('today', '2026-05-02T06:00:00Z'),
      backup('yesterday', '2026-05-01T06:00:00Z'),
      backup('ancient-pinned', '2020-01-01T06:00:00Z', { pinned: true }),
      backup('failed-pinned', '2026-04-01T06:00:00Z', { pinned: true, status: 'failed' }),
    ];
    const plan = planRetention(backups, policy({ daily: 1 }), 'UTC');
    expect(plan.keep).toEqual([
      { id: 'today-pinned', reasons: ['pinned', 'daily 2026-05-02'] },
      { id: 'failed-pinned', reasons: ['pinned'] },
      { id: 'ancient-pinned', reasons: ['pinned'] },
    ]);
    expect(deletedIds(plan)).toEqual(['today', 'yesterday']);
  });

  it('never deletes or counts running and pending backups', () => {
    const backups = [
      backup('running', '2026-05-02T20:00:00Z', { status: 'running' }),
      backup('pending', '2026-05-02T19:00:00Z', { status: 'pending' }),
      backup('done', '2026-05-02T06:00:00Z'),
      backup('old-running', '2026-01-02T06:00:00Z', { status: 'running' }),
      backup('older', '2026-05-01T06:00:00Z'),
    ];
    const plan = planRetention(backups, policy({ last: 1, daily: 1 }), 'UTC');
    expect(plan.keep).toEqual([
      { id: 'running', reasons: ['in progress'] },
      { id: 'pending', reasons: ['in progress'] },
      { id: 'done', reasons: ['last', 'daily 2026-05-02'] },
      { id: 'old-running', reasons: ['in progress'] },
    ]);
    expect(deletedIds(plan)).toEqual(['older']);
  });

  it('proposes failed backups for deletion and does not let them fill a slot', () => {
    const backups = [
      backup('failed-new', '2026-05-03T06:00:00Z', { status: 'failed' }),
      backup('good', '2026-05-02T06:00:00Z'),
      backup('failed-old', '2026-05-01T06:00:00Z', { status: 'failed' }),
    ];
    const plan = planRetention(backups, defaultRetention, 'UTC');
    expect(plan.keep).toEqual([{ id: 'good', reasons: ['daily 2026-05-02', 'weekly 2026-W18', 'monthly 2026-05'] }]);
    expect(deletedIds(plan)).toEqual(['failed-new', 'failed-old']);
  });

  it('handles an empty history', () => {
    expect(planRetention([], defaultRetention, 'UTC')).toEqual({ keep: [], delete: [] });
  });

  it('refuses bad input instead of deleting on a guess', () => {
    const one = [backup('a', '2026-05-02T06:00:00Z')];
    expect(() => planRetention(one, policy({}), 'UTC')).toThrow(/would delete every backup/);
    expect(() => planRetention(one, defaultRetention, 'Mars/Olympus_Mons')).toThrow(
      expect.objectContaining({ code: 'MARINA_E_VALIDATION', details: { field: 'timeZone' } }),
    );
    expect(() => planRetention([...one, ...one], defaultRetention, 'UTC')).toThrow(/appears twice/);
    expect(() => planRetention([backup('bad', 'not a date')], defaultRetention, 'UTC')).toThrow(/creation time/);
  });
});

describe('validateRetention', () => {
  const errorFor = (input: unknown): MarinaError => {
    try {
      validateRetention(input);
    } catch (error) {
      if (error instanceof MarinaError) return error;
      throw error;
    }
    throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  };

  it('accepts valid policies and returns only the four counts', () => {
    expect(defaultRetention).toEqual({ last: 0, daily: 7, weekly: 4, monthly: 3 });
    expect(validateRetention(defaultRetention)).toEqual(defaultRetention);
    expect(validateRetention(defaultRetention)).not.toBe(defaultRetention);
    expect(validateRetention({ last: 1000, daily: 0, weekly: 0, monthly: 0 })).toEqual(policy({ last: 1000 }));
    expect(Object.is(validateRetention({ last: -0, daily: 1, weekly: 0, monthly: 0 }).last, 0)).toBe(true);
  });

  it('names the field and says what is wrong', () => {
    const cases: [unknown, string, RegExp][] = [
      [null, 'retention', /must be an object/],
      [[7, 4, 3], 'retention', /must be an object/],
      ['daily', 'retention', /must be an object/],
      [{ ...defaultRetention, yearly: 1 }, 'yearly', /Unknown retention setting "yearly"/],
      [{ daily: 7, weekly: 4, monthly: 3 }, 'last', /"last" is missing/],
      [{ ...defaultRetention, daily: 1.5 }, 'daily', /"daily" must be a whole number from 0 to 1000 \(got 1.5\)/],
      [{ ...defaultRetention, weekly: -1 }, 'weekly', /got -1/],
      [{ ...defaultRetention, monthly: 1001 }, 'monthly', /got 1001/],
      [{ ...defaultRetention, daily: '7' }, 'daily', /got "7"/],
      [{ ...defaultRetention, daily: Number.NaN }, 'daily', /got NaN/],
      [{ ...defaultRetention, daily: Number.POSITIVE_INFINITY }, 'daily', /got Infinity/],
      [{ ...defaultRetention, last: null }, 'last', /got null/],
      [{ last: 0, daily: 0, weekly: 0, monthly: 0 }, 'retention', /would delete every backup/],
    ];
    for (const [input, field, message] of cases) {
      const error = errorFor(input);
      expect(error.code).toBe('MARINA_E_VALIDATION');
      expect(error.status).toBe(400);
      expect(error.details).toEqual({ field });
      expect(error.message).toMatch(message);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over generated histories.
