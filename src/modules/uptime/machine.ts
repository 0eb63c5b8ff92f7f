/**
 * The incident state machine of one instance, as a pure function: what one check changes, and
 * which notification (if any) it calls for. Its whole state is stored (uptime_state, incidents), so
 * a restart of Marina between two checks changes nothing.
 */

export interface Counters {
  /** Failed checks in a row (0 after a good one). */
  fails: number;
  /** Good checks in a row (0 after a failed one). */
  goods: number;
}

/** The instance's latest incident of the kind: the open one, or the last resolved one. */
export interface IncidentState {
  openedAt: Date;
  resolvedAt: Date | null;
  /** Whether the "firing" message of the current episode went out (a resolved one follows only then). */
  firingSent: boolean;
  lastNotifiedAt: Date | null;
}

export interface Policy {
  failThreshold: number;
  okThreshold: number;
  /** A still-open incident is announced again this long after the last message (default 4 h). */
  repeatMs: number;
  /**
   * Flapping: an instance failing again within this long of its incident's resolution reopens that
   * incident instead of opening a new one, and no two messages about an instance and rule go out
   * closer than this (except "resolved", which always follows a sent "firing").
   */
  quietMs: number;
  /** The organization's rule is on: messages go out (incidents open and close either way). */
  notify: boolean;
}

export type Transition = 'open' | 'reopen' | 'resolve' | null;
export type NotifyEvent = 'firing' | 'repeat' | 'resolved' | null;

export interface StepResult {
  counters: Counters;
  transition: Transition;
  notify: NotifyEvent;
  /** The incident after the step (null: there is none and none was opened). */
  incident: IncidentState | null;
}

const since = (now: Date, then: Date | null) =>
  then === null ? Number.POSITIVE_INFINITY : now.getTime() - then.getTime();

/** What to say about an open incident at `now` (nothing, the first message, or the repeat). */
function messageWhileOpen(incident: IncidentState, now: Date, policy: Policy): NotifyEvent {
  if (!policy.notify) return null;
  const quiet = since(now, incident.lastNotifiedAt);
  if (!incident.firingSent) return quiet >= policy.quietMs ? 'firing' : null;
  return quiet >= policy.repeatMs ? 'repeat' : null;
}

/** One check's effect. `ok` is the check's verdict; `incident` the latest incident (open or not). */
export function step(
  counters: Counters,
  incident: IncidentState | null,
  ok: boolean,
  now: Date,
  policy: Policy,
): StepResult {
  const next: Counters = ok ? { fails: 0, goods: counters.goods + 1 } : { fails: counters.fails + 1, goods: 0 };
  const open = incident !== null && incident.resolvedAt === null;
  let transition: Transition = null;
  let current = incident;
  if (!ok && !open && next.fails >= policy.failThreshold) {
    const recent = incident !== null && since(now, incident.resolvedAt) < policy.quietMs;
    transition = recent ? 'reopen' : 'open';
    current = recent
      ? { ...(incident as IncidentState), resolvedAt: null, firingSent: false }
      : { openedAt: now, resolvedAt: null, firingSent: false, lastNotifiedAt: null };
  } else if (ok && open && next.goods >= policy.okThreshold) {
    const resolved = { ...(incident as IncidentState), resolvedAt: now };
    if (incident?.firingSent)
      return {
        counters: next,
        transition: 'resolve',
        notify: 'resolved',
        incident: { ...resolved, firingSent: false, lastNotifiedAt: now },
      };
    return { counters: next, transition: 'resolve', notify: null, incident: resolved };
  }
  if (current === null || current.resolvedAt !== null)
    return { counters: next, transition, notify: null, incident: current };
  const notify = messageWhileOpen(current, now, policy);
  if (notify === null) return { counters: next, transition, notify, incident: current };
  return { counters: next, transition, notify, incident: { ...current, firingSent: true, lastNotifiedAt: now } };
}

/** Availability in percent of a number of checks and failures (100 with no checks: nothing measured failed). */
export function availability(checks: number, failures: number): number {
  if (checks <= 0) return 100;
  return Math.round(((checks - failures) / checks) * 100_000) / 1000;
}
