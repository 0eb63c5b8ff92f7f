import type { SubscriptionStatus, SuspendedKind } from '../../db/schema-selfservice.js';

/**
 * The subscription's state machine, pure: which status may follow which, and which lifecycle steps
 * are due at a moment. Nothing here reads the database or the clock; the service and the ticker do.
 *
 * trialing ─convert─► active ─(#20 unpaid)─► past_due ─(#20 dunning end)─► suspended
 * trialing ─trial end───────────────────────────────────────────────────► suspended
 * trialing/active/past_due ─admin suspend─► suspended ─resume─► the status it came from
 * suspended ─grace end─► cancelled (final backups, instances deleted)
 */

export const DAY_MS = 86_400_000;

/** Why a status changes: the step that changes it. */
export type TransitionCause =
  | 'convert'
  | 'trial_end'
  | 'admin_suspend'
  | 'resume'
  | 'extend_trial'
  | 'grace_end'
  | 'payment'
  | 'unpaid'
  | 'dunning_end';

const allowed: Record<SubscriptionStatus, readonly SubscriptionStatus[]> = {
  trialing: ['active', 'suspended'],
  active: ['past_due', 'suspended'],
  past_due: ['active', 'suspended'],
  suspended: ['trialing', 'active', 'past_due', 'cancelled'],
  // The end: a cancelled organization stays read-only; a new plan is a new subscription row.
  cancelled: [],
};

/** What a transition looks at besides the two statuses. */
export interface TransitionFacts {
  from: SubscriptionStatus;
  to: SubscriptionStatus;
  cause: TransitionCause;
  trialEndsAt: Date | null;
  now: Date;
  /** The grace end began deleting the suspended organization's instances (`deletion_started_at`). */
  deletionStarted?: boolean;
}

/** Null when the transition may happen, else why not (in words for the API's answer). */
export function refusal({ from, to, cause, trialEndsAt, now, deletionStarted }: TransitionFacts): string | null {
  if (!allowed[from].includes(to)) return `A subscription cannot go from ${from} to ${to}.`;
  // Its instances are going one by one: a resume now would bring back an organization missing some.
  if (from === 'suspended' && to !== 'cancelled' && deletionStarted)
    return 'The grace period ended and deleting its instances has begun.';
  if (from === 'suspended' && to === 'trialing' && (!trialEndsAt || trialEndsAt <= now))
    return 'The trial has ended: extend it first, or convert it to a paid subscription.';
  if (to === 'cancelled' && cause !== 'grace_end') return 'Only the end of the grace period cancels a subscription.';
  if (from === 'trialing' && to === 'suspended' && cause === 'trial_end' && (!trialEndsAt || trialEndsAt > now))
    return 'The trial has not ended yet.';
  return null;
}

/** Why an organization is suspended, from the step that suspends it. */
export function suspendedKindOf(cause: TransitionCause): SuspendedKind {
  if (cause === 'trial_end') return 'trial_ended';
  if (cause === 'dunning_end') return 'past_due';
  return 'admin';
}

/** The mail a transition sends the organization's owners (none for the quiet ones). */
export function noticeOf(
  from: SubscriptionStatus,
  to: SubscriptionStatus,
  kind: SuspendedKind | null,
): 'trial_ended' | 'suspended' | 'resumed' | 'deletion_notice' | null {
  if (to === 'suspended') return kind === 'trial_ended' ? 'trial_ended' : 'suspended';
  if (to === 'cancelled') return 'deletion_notice';
  if (from === 'suspended') return 'resumed';
  return null;
}

/** A subscription as the schedule sees it. */
export interface ScheduleFacts {
  status: SubscriptionStatus;
  trialEndsAt: Date | null;
  suspendedAt: Date | null;
  graceEndsAt: Date | null;
}

export type DueStep =
  | { kind: 'reminder'; key: string; daysLeft: number; at: Date; outcome: 'send' | 'skip'; why?: string }
  | { kind: 'trial_end'; key: string; at: Date }
  | { kind: 'grace_end'; key: string; at: Date };

export const reminderKey = (days: number, trialEndsAt: Date) => `reminder:${days}:${trialEndsAt.toISOString()}`;
export const trialEndKey = (trialEndsAt: Date) => `trial_end:${trialEndsAt.toISOString()}`;
export const graceEndKey = (suspendedAt: Date) => `grace_end:${suspendedAt.toISOString()}`;

/**
 * The steps due at `now`, oldest first, by time alone (so a tick after downtime catches up). Their
 * keys say whether each was done already; the caller skips those. Reminders are instants, N × 24 h
 * before the trial's end. A reminder whose moment passed but whose trial has ended is recorded
 * skipped (no "7 days left" on the day of suspension); of several reminders due together only the
 * nearest is sent (one "1 day left" rather than three mails at once after downtime).
 */
export function dueSteps(facts: ScheduleFacts, now: Date, reminderDays: readonly number[]): DueStep[] {
  const steps: DueStep[] = [];
  if (facts.status === 'trialing' && facts.trialEndsAt) {
    const end = facts.trialEndsAt;
    const ended = end <= now;
    const due = [...new Set(reminderDays)]
      .filter((days) => days > 0)
      .sort((a, b) => b - a)
      .map((days) => ({ days, at: new Date(end.getTime() - days * DAY_MS) }))
      .filter((r) => r.at <= now);
    due.forEach((r, index) => {
      const later = index < due.length - 1;
      const why = ended ? 'the trial had ended' : later ? 'a nearer reminder was due too' : undefined;
      steps.push({
        kind: 'reminder',
        key: reminderKey(r.days, end),
        daysLeft: r.days,
        at: r.at,
        outcome: why ? 'skip' : 'send',
        ...(why ? { why } : {}),
      });
    });
    if (ended) steps.push({ kind: 'trial_end', key: trialEndKey(end), at: end });
  }
  if (facts.status === 'suspended' && facts.suspendedAt && facts.graceEndsAt && facts.graceEndsAt <= now)
    steps.push({ kind: 'grace_end', key: graceEndKey(facts.suspendedAt), at: facts.graceEndsAt });
  return steps;
}

/** The statuses in which an organization's instances must not run. */
export const stopsInstances = (status: SubscriptionStatus) => status === 'suspended' || status === 'cancelled';

/** What the edge tells visitors of a suspended organization's sites (never the admin's reason). */
export function edgeSuspension(
  status: SubscriptionStatus | null,
  kind: SuspendedKind | null,
): 'trial_ended' | 'suspended' | null {
  if (status !== 'suspended' && status !== 'cancelled') return null;
  return kind === 'trial_ended' ? 'trial_ended' : 'suspended';
}
