import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRetention, type RetentionBackup, type RetentionPlan, type RetentionPolicy } from './retention.js';

const keptIds = (plan: RetentionPlan): string[] => plan.keep.map((k) => k.id);
const deletedIds = (plan: RetentionPlan): string[] => plan.delete.map((d) => d.id);
const START = Date.UTC(2025, 0, 1);
const END = Date.UTC(2028, 0, 1);
const HOUR = 3_600_000;

// Besides uniform instants over three years, some fall on whole hours in a 30-day window and
// some in a 2-day window, so the same day, week and even the same instant come up often enough to
// exercise the "newest of the period" and tie-breaking rules.
const timestamp = fc.oneof(
  fc.integer({ min: START, max: END }),
  fc.integer({ min: 0, max: 30 * 24 }).map((h) => Date.UTC(2026, 9, 10) + h * HOUR),
  fc.integer({ min: 0, max: 48 }).map((h) => Date.UTC(2026, 2, 28) + h * HOUR),
);

const status = fc.oneof(
  { weight: 6, arbitrary: fc.constant('completed' as const) },
  { weight: 2, arbitrary: fc.constant('failed' as const) },
  { weight: 1, arbitrary: fc.constant('running' as const) },
  { weight: 1, arbitrary: fc.constant('pending' as const) },
);

const row = fc.record({
  at: timestamp,
  pinned: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 6, arbitrary: fc.constant(false) }),
  status,
});

// fast-check keeps arrays to about ten items by default; long histories are where weekly and
// monthly buckets and their limits actually matter.
const history = fc.oneof(fc.array(row, { maxLength: 10 }), fc.array(row, { maxLength: 150, size: 'max' })).map((rows) =>
  rows.map(
    (r, i): RetentionBackup => ({
      id: `b${String(i).padStart(3, '0')}`,
      createdAt: new Date(r.at),
      pinned: r.pinned,
      status: r.status,
    }),
  ),
);

const count = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 40 }));
const anyPolicy = fc
  .record({ last: count, daily: count, weekly: count, monthly: count })
  .filter((p) => p.last + p.daily + p.weekly + p.monthly > 0);

const timeZone = fc.constantFrom(
  'UTC',
  'Europe/Brussels',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Pacific/Kiritimati',
);

const byNewest = (a: RetentionBackup, b: RetentionBackup): number =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * An independent model of the rule, written as "group by period, take the N most recent groups"
 * rather than the implementation's single pass, with the calendar taken from a different Intl
 * formatter and ISO weeks counted from the Monday of week 1.
 */
function modelKeep(backups: RetentionBackup[], p: RetentionPolicy, zone: string): Set<string> {
  const fmt = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const ymd = (d: Date): [number, number, number] => {
    const [y, m, day] = fmt.format(d).split('-').map(Number);
    return [y ?? 0, m ?? 0, day ?? 0];
  };
  const week1Monday = (year: number): number => {
    const jan4 = Date.UTC(year, 0, 4);
    return jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * 86_400_000;
  };
  const isoWeek = (d: Date): string => {
    const [y, m, day] = ymd(d);
    const t = Date.UTC(y, m - 1, day);
    const year = [y + 1, y, y - 1].find((candidate) => week1Monday(candidate) <= t) ?? y;
    const week = Math.floor((t - week1Monday(year)) / (7 * 86_400_000)) + 1;
    return `${year}-W${String(week).padStart(2, '0')}`;
  };
  const kept = new Set<string>(
    backups.filter((b) => b.pinned || b.status === 'running' || b.status === 'pending').map((b) => b.id),
  );
  const completed = backups.filter((b) => b.status === 'completed').sort(byNewest);
  for (const b of completed.slice(0, p.last)) kept.add(b.id);
  const periods: [number, (d: Date) => string][] = [
    [p.daily, (d) => ymd(d).join('-')],
    [p.weekly, isoWeek],
    [p.monthly, (d) => ymd(d).slice(0, 2).join('-')],
  ];
  for (const [n, key] of periods) {
    const newestOfPeriod = new Map<string, string>();
    for (const b of completed) if (!newestOfPeriod.has(key(b.createdAt))) newestOfPeriod.set(key(b.createdAt), b.id);
    for (const id of [...newestOfPeriod.values()].slice(0, n)) kept.add(id);
  }
  return kept;
}

describe('retention: properties', () => {
  it('splits every backup into exactly one of keep and delete, newest first', () => {
    fc.assert(
      fc.property(history, anyPolicy, timeZone, (backups, p, zone) => {
        const plan = planRetention(backups, p, zone);
        const kept = keptIds(plan);
        const deleted = deletedIds(plan);
        expect(new Set([...kept, ...deleted])).toEqual(new Set(backups.map((b) => b.id)));
        expect(kept.length + deleted.length).toBe(backups.length);
        const position = new Map([...backups].sort(byNewest).map((b, i) => [b.id, i]));
        for (const list of [kept, deleted]) {
          const positions = list.map((id) => position.get(id) ?? -1);
          expect(positions).toEqual([...positions].sort((a, b) => a - b));
        }
        for (const k of plan.keep) expect(k.reasons.length).toBeGreaterThan(0);
      }),
    );
  });

  it('keeps every pinned, running and pending backup, and deletes every unpinned failed one', () => {
    fc.assert(
      fc.property(history, anyPolicy, timeZone, (backups, p, zone) => {
        const kept = new Set(keptIds(planRetention(backups, p, zone)));
        for (const b of backups) {
          if (b.pinned || b.status === 'running' || b.status === 'pending') expect(kept.has(b.id)).toBe(true);
          else if (b.status === 'failed') expect(kept.has(b.id)).toBe(false);
        }
      }),
    );
  });

  it('keeps at most last + daily + weekly + monthly unpinned completed backups', () => {
    fc.assert(
      fc.property(history, anyPolicy, timeZone, (backups, p, zone) => {
        const kept = new Set(keptIds(planRetention(backups, p, zone)));
        const keptUnpinned = backups.filter((b) => kept.has(b.id) && !b.pinned && b.status === 'completed');
        expect(keptUnpinned.length).toBeLessThanOrEqual(p.last + p.daily + p.weekly + p.monthly);
      }),
    );
  });

  it('always keeps the newest completed backup', () => {
    fc.assert(
      fc.property(history, anyPolicy, timeZone, (backups, p, zone) => {
        const newest = backups.filter((b) => b.status === 'completed').sort(byNewest)[0];
        fc.pre(newest !== undefined);
        expect(keptIds(planRetention(backups, p, zone))).toContain(newest?.id);
      }),
    );
  });

  it('never deletes, under a larger count, a backup the smaller policy kept', () => {
    const key = fc.constantFrom('last', 'daily', 'weekly', 'monthly' as const);
    fc.assert(
      fc.property(history, anyPolicy, timeZone, key, fc.integer({ min: 1, max: 20 }), (backups, p, zone, k, more) => {
        const smaller = new Set(keptIds(planRetention(backups, p, zone)));
        const larger = new Set(keptIds(planRetention(backups, { ...p, [k]: p[k] + more }, zone)));
        for (const id of smaller) expect(larger.has(id)).toBe(true);
      }),
    );
  });

  it('is idempotent: planning again on what was kept deletes nothing and gives the same reasons', () => {
    fc.assert(
      fc.property(history, anyPolicy, timeZone, (backups, p, zone) => {
        const first = planRetention(backups, p, zone);
        const kept = new Set(keptIds(first));
        const second = planRetention(
          backups.filter((b) => kept.has(b.id)),
          p,
          zone,
        );
        expect(second.delete).toEqual([]);
        expect(second.keep).toEqual(first.keep);
      }),
    );
  });

  it('does not depend on the order the backups are given in, even with equal timestamps', () => {
    const permuted = history.chain((backups) =>
      fc.tuple(
        fc.constant(backups),
        fc.shuffledSubarray(backups, { minLength: backups.length, maxLength: backups.length }),
      ),
    );
    fc.assert(
      fc.property(permuted, anyPolicy, timeZone, ([backups, shuffled], p, zone) => {
        expect(planRetention(shuffled, p, zone)).toEqual(planRetention(backups, p, zone));
      }),
    );
  });

  it('agrees with an independent group-by model of the rule', () => {
    fc.assert(
      fc.property(history, anyPolicy, timeZone, (backups, p, zone) => {
        expect(new Set(keptIds(planRetention(backups, p, zone)))).toEqual(modelKeep(backups, p, zone));
      }),
    );
  });
});
