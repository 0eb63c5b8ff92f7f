import { describe, expect, it } from 'vitest';
import { availability, type Counters, type IncidentState, type Policy, step } from './machine.js';
import { monthAvailability, monthBounds } from './read.js';

const policy: Policy = {
  failThreshold: 3,
  okThreshold: 2,
  repeatMs: 4 * 3600_000,
  quietMs: 10 * 60_000,
  notify: true,
};

/** Runs checks 30 s apart from `start`, carrying the state as the store does; returns what each did. */
function run(verdicts: boolean[], from?: { counters: Counters; incident: IncidentState | null; at: Date }, p = policy) {
  let counters = from?.counters ?? { fails: 0, goods: 0 };
  let incident = from?.incident ?? null;
  let at = from?.at ?? new Date('2030-01-01T00:00:00Z');
  const events: string[] = [];
  for (const ok of verdicts) {
    at = new Date(at.getTime() + 30_000);
    const out = step(counters, incident, ok, at, p);
    counters = out.counters;
    incident = out.incident;
    events.push([out.transition, out.notify].filter((x) => x !== null).join('+') || '-');
  }
  return { counters, incident, at, events };
}

describe('the incident state machine', () => {
  it('opens after N failed checks in a row and closes after M good ones, one message each', () => {
    const { events } = run([false, false, true, false, false, false, false, true, false, true, true]);
    expect(events).toEqual(['-', '-', '-', '-', '-', 'open+firing', '-', '-', '-', '-', 'resolve+resolved']);
  });

  it('repeats a still-open incident after the repeat interval, not before', () => {
    const opened = run([false, false, false]);
    expect(opened.events.at(-1)).toBe('open+firing');
    // 4 h of failures at 30 s: exactly one repeat, at the 4 h mark.
    const later = run(Array(480).fill(false), opened);
    expect(later.events.filter((e) => e === 'repeat')).toHaveLength(1);
    expect(later.events.indexOf('repeat')).toBe(479);
  });

  it('groups a flapping instance: failing again soon after a resolution reopens the incident, quietly until the quiet time', () => {
    const first = run([false, false, false, true, true]);
    expect(first.events.slice(-3)).toEqual(['open+firing', '-', 'resolve+resolved']);
    // Down again 2 minutes later: the same incident reopens; no message 10 min after the last one.
    const again = run([true, true, false, false, false], first);
    expect(again.events.at(-1)).toBe('reopen');
    expect(again.incident?.openedAt).toEqual(first.incident?.openedAt);
    // Back before the quiet time passed: closed without a "resolved" (no "firing" went out for it).
    const back = run([true, true], again);
    expect(back.events).toEqual(['-', 'resolve']);
    // Down again and staying down: the "firing" goes out once the quiet time since the last message passed.
    const down = run(Array(30).fill(false), back);
    expect(down.events.filter((e) => e.includes('firing'))).toHaveLength(1);
    const firingAt = down.events.findIndex((e) => e.includes('firing'));
    expect(down.events[2]).toBe('reopen');
    expect(firingAt).toBeGreaterThan(2);
  });

  it('opens a new incident when the failure comes after the quiet time', () => {
    const first = run([false, false, false, true, true]);
    const calm = run(Array(40).fill(true), first);
    const next = run([false, false, false], calm);
    expect(next.events.at(-1)).toBe('open+firing');
    expect(next.incident?.openedAt).not.toEqual(first.incident?.openedAt);
  });

  it('opens and closes incidents with the rule off, but sends nothing', () => {
    const off = { ...policy, notify: false };
    const { events } = run([false, false, false, false, true, true], undefined, off);
    expect(events).toEqual(['-', '-', 'open', '-', '-', 'resolve']);
  });

  it('gives the same answer whether or not Marina restarted between two checks (the state is all stored)', () => {
    const straight = run([false, false, false, false, true, true]);
    const half = run([false, false]);
    // A restart: the stored counters and incident, read back as plain values.
    const restored = JSON.parse(JSON.stringify(half), (key, value) =>
      ['openedAt', 'resolvedAt', 'lastNotifiedAt', 'at'].includes(key) && value !== null ? new Date(value) : value,
    );
    const rest = run([false, false, true, true], restored);
    expect([...half.events, ...rest.events]).toEqual(straight.events);
  });
});

describe('availability arithmetic', () => {
  it('is the share of passing checks, per day and over a month', () => {
    expect(availability(0, 0)).toBe(100);
    expect(availability(2880, 0)).toBe(100);
    expect(availability(2880, 6)).toBe(99.792);
    expect(availability(4, 4)).toBe(0);
    // A month weighs days by their checks, not as an average of daily percentages.
    expect(
      monthAvailability([
        { checks: 2880, failures: 0 },
        { checks: 10, failures: 10 },
      ]),
    ).toBe(99.654);
  });

  it('bounds a month in UTC days and refuses anything but YYYY-MM', () => {
    expect(monthBounds('2030-02')).toEqual({ from: '2030-02-01', to: '2030-03-01' });
    expect(monthBounds('2030-12')).toEqual({ from: '2030-12-01', to: '2031-01-01' });
    expect(() => monthBounds('2030-13')).toThrow(/YYYY-MM/);
  });
});
