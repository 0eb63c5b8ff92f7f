import { describe, expect, it } from 'vitest';
import { DAY_MS, dueSteps, edgeSuspension, noticeOf, refusal, reminderKey, trialEndKey } from './machine.js';

const end = new Date('2030-03-10T12:00:00.000Z');
const at = (msBeforeEnd: number) => new Date(end.getTime() - msBeforeEnd);
const trialing = { status: 'trialing' as const, trialEndsAt: end, suspendedAt: null, graceEndsAt: null };
const days = [7, 3, 1];

describe('the lifecycle machine', () => {
  it('allows only the transitions of the diagram', () => {
    const now = at(DAY_MS);
    const facts = { cause: 'admin_suspend' as const, trialEndsAt: end, now };
    expect(refusal({ ...facts, from: 'trialing', to: 'suspended' })).toBeNull();
    expect(refusal({ ...facts, from: 'trialing', to: 'active', cause: 'convert' })).toBeNull();
    expect(refusal({ ...facts, from: 'active', to: 'trialing' })).toMatch(/cannot go from active to trialing/);
    expect(refusal({ ...facts, from: 'cancelled', to: 'active' })).toMatch(/cannot go/);
    expect(refusal({ ...facts, from: 'suspended', to: 'cancelled' })).toMatch(/grace period/);
    expect(refusal({ ...facts, from: 'suspended', to: 'cancelled', cause: 'grace_end' })).toBeNull();
  });

  it('resumes nothing once the grace end began deleting, and still lets it cancel', () => {
    const facts = { from: 'suspended' as const, trialEndsAt: end, now: at(DAY_MS), deletionStarted: true };
    for (const to of ['active', 'trialing', 'past_due'] as const)
      expect(refusal({ ...facts, to, cause: 'resume' })).toMatch(/deleting its instances has begun/);
    expect(refusal({ ...facts, to: 'active', cause: 'convert' })).toMatch(/deleting its instances has begun/);
    expect(refusal({ ...facts, to: 'cancelled', cause: 'grace_end' })).toBeNull();
    expect(refusal({ ...facts, to: 'active', cause: 'resume', deletionStarted: false })).toBeNull();
  });

  it('resumes a trial only while its end is ahead, and ends a trial only once it has ended', () => {
    const before = at(DAY_MS);
    const after = new Date(end.getTime() + 1);
    const resume = { from: 'suspended' as const, to: 'trialing' as const, cause: 'resume' as const, trialEndsAt: end };
    expect(refusal({ ...resume, now: before })).toBeNull();
    expect(refusal({ ...resume, now: after })).toMatch(/trial has ended/);
    const ending = {
      from: 'trialing' as const,
      to: 'suspended' as const,
      cause: 'trial_end' as const,
      trialEndsAt: end,
    };
    expect(refusal({ ...ending, now: before })).toMatch(/not ended/);
    expect(refusal({ ...ending, now: end })).toBeNull();
  });

  it('mails the owners the right notice for each change', () => {
    expect(noticeOf('trialing', 'suspended', 'trial_ended')).toBe('trial_ended');
    expect(noticeOf('active', 'suspended', 'admin')).toBe('suspended');
    expect(noticeOf('suspended', 'active', null)).toBe('resumed');
    expect(noticeOf('suspended', 'cancelled', null)).toBe('deletion_notice');
    expect(noticeOf('trialing', 'active', null)).toBeNull();
  });

  it('tells the edge why, never more', () => {
    expect(edgeSuspension('suspended', 'trial_ended')).toBe('trial_ended');
    expect(edgeSuspension('suspended', 'admin')).toBe('suspended');
    expect(edgeSuspension('suspended', 'past_due')).toBe('suspended');
    expect(edgeSuspension('active', null)).toBeNull();
    expect(edgeSuspension(null, null)).toBeNull();
  });
});

describe('due steps', () => {
  it('has nothing due before the first reminder', () => {
    expect(dueSteps(trialing, at(7 * DAY_MS + 1), days)).toEqual([]);
  });

  it('makes each reminder due at its instant, N × 24 h before the end', () => {
    const seven = dueSteps(trialing, at(7 * DAY_MS), days);
    expect(seven).toEqual([
      { kind: 'reminder', key: reminderKey(7, end), daysLeft: 7, at: at(7 * DAY_MS), outcome: 'send' },
    ]);
    const three = dueSteps(trialing, at(3 * DAY_MS), days).filter((s) => s.kind === 'reminder' && s.outcome === 'send');
    expect(three.map((s) => s.key)).toEqual([reminderKey(3, end)]);
  });

  it('after downtime sends only the nearest reminder and records the older ones skipped', () => {
    const steps = dueSteps(trialing, at(DAY_MS / 2), days);
    expect(steps.map((s) => [s.key, s.kind === 'reminder' ? s.outcome : 'step'])).toEqual([
      [reminderKey(7, end), 'skip'],
      [reminderKey(3, end), 'skip'],
      [reminderKey(1, end), 'send'],
    ]);
  });

  it('skips every reminder whose trial has already ended, and ends the trial', () => {
    const steps = dueSteps(trialing, new Date(end.getTime() + 3 * DAY_MS), days);
    expect(steps.filter((s) => s.kind === 'reminder').every((s) => s.kind === 'reminder' && s.outcome === 'skip')).toBe(
      true,
    );
    expect(steps.at(-1)).toEqual({ kind: 'trial_end', key: trialEndKey(end), at: end });
  });

  it('keys reminders by the trial end, so extending the trial arms them again', () => {
    const later = new Date(end.getTime() + 10 * DAY_MS);
    const steps = dueSteps({ ...trialing, trialEndsAt: later }, new Date(later.getTime() - 7 * DAY_MS), days);
    expect(steps.map((s) => s.key)).toEqual([reminderKey(7, later)]);
    expect(reminderKey(7, later)).not.toBe(reminderKey(7, end));
  });

  it('makes the grace end due for a suspended subscription only at its time', () => {
    const suspendedAt = new Date('2030-03-10T12:00:00.000Z');
    const graceEndsAt = new Date(suspendedAt.getTime() + 30 * DAY_MS);
    const facts = { status: 'suspended' as const, trialEndsAt: end, suspendedAt, graceEndsAt };
    expect(dueSteps(facts, new Date(graceEndsAt.getTime() - 1), days)).toEqual([]);
    expect(dueSteps(facts, graceEndsAt, days)).toEqual([
      { kind: 'grace_end', key: `grace_end:${suspendedAt.toISOString()}`, at: graceEndsAt },
    ]);
    expect(dueSteps({ ...facts, status: 'active' }, graceEndsAt, days)).toEqual([]);
  });
});
