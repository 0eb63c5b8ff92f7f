import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { IncidentKind } from '../../db/schema-metrics.js';
import type { AlertTarget, IncidentNotifier } from '../alerts/events.js';
import type { Policy } from './machine.js';
import { type IncidentState, step } from './machine.js';
import type { PathAnswer } from './probe.js';

/** The instance as a check and its messages name it. */
export interface CheckTarget {
  id: string;
  name: string;
  organizationId: string;
  organizationName: string;
  /** `project/instance`, as users read it. */
  label: string;
  /** Its public address (null without one). */
  url: string | null;
  /** Its time between checks (its plan's); the store's default otherwise. */
  intervalMs?: number;
}

export interface CheckResult {
  at: Date;
  ok: boolean;
  direct: PathAnswer | null;
  proxy: PathAnswer | null;
}

export type { IncidentEvent, IncidentNotifier } from '../alerts/events.js';

/** The alert target of a checked instance. */
export const alertTarget = (t: CheckTarget): AlertTarget => ({
  instanceId: t.id,
  name: t.name,
  label: t.label,
  url: t.url,
  organizationId: t.organizationId,
  organizationName: t.organizationName,
  path: `/instances/${t.id}`,
});

/** Which path failed and what it answered: the incident's `details` (bounded: excerpts are short). */
export function failureDetails(result: CheckResult): Record<string, unknown> {
  const directBad = result.direct !== null && result.direct.error !== null;
  const proxyBad = result.proxy !== null && result.proxy.error !== null;
  const failed = directBad && proxyBad ? 'both' : directBad ? 'direct' : proxyBad ? 'proxy' : 'none';
  const path = (answer: PathAnswer | null) =>
    answer === null ? null : { status: answer.status, error: answer.error, ms: answer.ms };
  return { failed, at: result.at.toISOString(), direct: path(result.direct), proxy: path(result.proxy) };
}

/** The latest incident of a kind and subject (open or not), and its state as the machine reads it. */
export async function latestIncident(db: Db, kind: IncidentKind, subject: string) {
  const latest = await db
    .selectFrom('incidents')
    .selectAll()
    .where('kind', '=', kind)
    .where('subject', '=', subject)
    .orderBy('opened_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  const before: IncidentState | null = latest
    ? {
        openedAt: latest.opened_at,
        resolvedAt: latest.resolved_at,
        firingSent: latest.firing_sent,
        lastNotifiedAt: latest.last_notified_at,
      }
    : null;
  return { latest, before };
}

/** Writes what a step made of an incident: its state, what was found, and how often it flapped. */
export async function saveIncident(
  db: Db,
  id: string,
  incident: IncidentState,
  details: Record<string, unknown>,
  flaps: number,
): Promise<void> {
  await db
    .updateTable('incidents')
    .set({
      resolved_at: incident.resolvedAt,
      firing_sent: incident.firingSent,
      last_notified_at: incident.lastNotifiedAt,
      details: JSON.stringify(details),
      flaps,
    })
    .where('id', '=', id)
    .execute();
}

const dayOf = (at: Date) => at.toISOString().slice(0, 10);

export interface UptimeStoreDeps {
  db: Db;
  notifier: IncidentNotifier;
  policy: { failThreshold: number; okThreshold: number; quietMs: number };
  intervalMs: number;
}

/**
 * Writes one check and whatever it changes, in one transaction holding the instance's state row:
 * two Marina processes checking the same instance take turns, and a check arriving less than half an
 * interval after the last one recorded is dropped (the other process already counted this round), so
 * counters, incidents and messages happen once.
 */
export class UptimeStore {
  constructor(private readonly deps: UptimeStoreDeps) {}

  async record(target: CheckTarget, result: CheckResult): Promise<'recorded' | 'duplicate'> {
    const { db, notifier } = this.deps;
    const intervalMs = target.intervalMs ?? this.deps.intervalMs;
    const rule = await notifier.ruleOf(db, target.organizationId, 'instance_down');
    const policy: Policy = { ...this.deps.policy, repeatMs: rule.repeatMs, notify: rule.enabled };
    return db.transaction().execute(async (trx) => {
      await trx
        .insertInto('uptime_state')
        .values({ instance_id: target.id })
        .onConflict((oc) => oc.column('instance_id').doNothing())
        .execute();
      const state = await trx
        .selectFrom('uptime_state')
        .selectAll()
        .where('instance_id', '=', target.id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (state.last_at && result.at.getTime() - state.last_at.getTime() < intervalMs / 2) return 'duplicate';
      const { latest, before } = await latestIncident(trx, 'instance_down', target.id);
      const out = step(state, before, result.ok, result.at, policy);
      const gapS = Math.round(
        Math.min(intervalMs, state.last_at ? result.at.getTime() - state.last_at.getTime() : intervalMs) / 1000,
      );
      await trx
        .updateTable('uptime_state')
        .set({ fails: out.counters.fails, goods: out.counters.goods, last_at: result.at })
        .where('instance_id', '=', target.id)
        .execute();
      await trx
        .insertInto('uptime_checks')
        .values({
          instance_id: target.id,
          at: result.at,
          ok: result.ok,
          direct: result.direct?.status ?? null,
          proxy: result.proxy?.status ?? null,
          ms: result.direct?.ms ?? result.proxy?.ms ?? null,
        })
        .onConflict((oc) => oc.columns(['instance_id', 'at']).doNothing())
        .execute();
      await trx
        .insertInto('uptime_days')
        .values({
          instance_id: target.id,
          day: dayOf(result.at),
          checks: 1,
          failures: result.ok ? 0 : 1,
          down_seconds: result.ok ? 0 : gapS,
        })
        .onConflict((oc) =>
          oc.columns(['instance_id', 'day']).doUpdateSet({
            checks: sql`uptime_days.checks + 1`,
            failures: sql`uptime_days.failures + excluded.failures`,
            down_seconds: sql`uptime_days.down_seconds + excluded.down_seconds`,
          }),
        )
        .execute();
      const incident = out.incident;
      if (incident === null) return 'recorded';
      let id = latest?.id;
      let details = latest?.details ?? {};
      let flaps = latest?.flaps ?? 0;
      if (out.transition === 'open') {
        details = failureDetails(result);
        const made = await trx
          .insertInto('incidents')
          .values({
            instance_id: target.id,
            organization_id: target.organizationId,
            kind: 'instance_down',
            subject: target.id,
            opened_at: result.at,
            details: JSON.stringify(details),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        id = made.id;
        flaps = 0;
      } else if (out.transition === 'reopen') {
        details = failureDetails(result);
        flaps += 1;
      }
      if (id === undefined) return 'recorded';
      if (out.transition !== null || out.notify !== null) await saveIncident(trx, id, incident, details, flaps);
      if (out.notify !== null)
        await notifier.notify(trx, {
          event: out.notify,
          at: result.at,
          incidentId: id,
          kind: 'instance_down',
          target: alertTarget(target),
          openedAt: incident.openedAt,
          resolvedAt: incident.resolvedAt,
          details,
          flaps,
        });
      return 'recorded';
    });
  }

  /**
   * An instance no longer watched (stopped through Marina, moved off production) has nothing down:
   * its open incident closes, with a "resolved" message when a "firing" one went out.
   */
  async closeUnwatched(
    watched: readonly string[],
    now: Date,
    targetOf: (instanceId: string) => Promise<CheckTarget | null>,
  ): Promise<void> {
    const { db, notifier } = this.deps;
    const open = await db
      .selectFrom('incidents')
      .select(['id', 'instance_id'])
      .where('kind', '=', 'instance_down')
      .where('resolved_at', 'is', null)
      .$if(watched.length > 0, (q) => q.where('instance_id', 'not in', [...watched]))
      .execute();
    for (const row of open) {
      if (row.instance_id === null) continue;
      const instanceId = row.instance_id;
      const target = await targetOf(instanceId);
      await db.transaction().execute(async (trx) => {
        const incident = await trx
          .selectFrom('incidents')
          .select(['opened_at', 'details', 'flaps', 'firing_sent'])
          .where('id', '=', row.id)
          .where('resolved_at', 'is', null)
          .forUpdate()
          .executeTakeFirst();
        if (!incident) return;
        await trx
          .updateTable('incidents')
          .set({ resolved_at: now, firing_sent: false, ...(incident.firing_sent ? { last_notified_at: now } : {}) })
          .where('id', '=', row.id)
          .execute();
        await trx
          .updateTable('uptime_state')
          .set({ fails: 0, goods: 0 })
          .where('instance_id', '=', instanceId)
          .execute();
        if (incident.firing_sent && target)
          await notifier.notify(trx, {
            event: 'resolved',
            at: now,
            incidentId: row.id,
            kind: 'instance_down',
            target: alertTarget(target),
            openedAt: incident.opened_at,
            resolvedAt: now,
            details: {
              ...incident.details,
              closed: 'no longer checked: stopped through Marina, or no longer production',
            },
            flaps: incident.flaps,
          });
      });
    }
  }

  private prunedAt = 0;

  /** Raw checks older than `keepDays` go, at most once an hour; the day rollups stay. */
  async prune(now: Date, keepDays = 7): Promise<void> {
    if (now.getTime() - this.prunedAt < 3600_000) return;
    this.prunedAt = now.getTime();
    await this.deps.db
      .deleteFrom('uptime_checks')
      .where('at', '<', new Date(now.getTime() - keepDays * 86_400_000))
      .execute();
  }
}
