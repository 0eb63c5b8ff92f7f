import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { IncidentKind } from '../../db/schema-metrics.js';
import type { Clock } from '../../platform/clock.js';
import { RoundTicker } from '../../platform/round-ticker.js';
import { step } from '../uptime/machine.js';
import { latestIncident, saveIncident } from '../uptime/store.js';
import type { Condition, ConditionContext, Finding } from './conditions/finding.js';
import type { AlertTarget, IncidentNotifier } from './events.js';

export interface AlertEvaluatorDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  notifier: IncidentNotifier;
  conditions: readonly Condition[];
  context: Omit<ConditionContext, 'db' | 'clock'>;
  intervalMs: number;
  /** As for uptime: a condition back within this long reopens its incident; messages no closer. */
  quietMs: number;
}

const keyOf = (kind: string, subject: string) => `${kind}\n${subject}`;

/**
 * Evaluates the alert rules other than uptime every MARINA_ALERTS_INTERVAL_S. What a rule finds opens
 * an incident of its kind and subject (once, whoever evaluates: an advisory lock per subject and the
 * open-incident index), a finding gone resolves it; messages follow the uptime state machine's
 * firing / repeat / resolved and flapping rules, with a single round as the threshold (each rule's
 * condition carries its own duration, such as memory high for 10 minutes).
 */
export class AlertEvaluator {
  private readonly ticker: RoundTicker;

  constructor(private readonly deps: AlertEvaluatorDeps) {
    this.ticker = new RoundTicker(() => this.runOnce(), {
      intervalMs: deps.intervalMs,
      logger: deps.logger,
      failure: 'alerts: an evaluation round failed',
    });
  }

  async runOnce(): Promise<void> {
    const { db, clock, context, conditions, logger } = this.deps;
    for (const condition of conditions) {
      let findings: Finding[];
      try {
        findings = await condition.evaluate({ ...context, db, clock });
      } catch (error) {
        // A rule that cannot be evaluated resolves nothing: its open incidents stay as they are.
        logger.warn({ err: error, kinds: condition.kinds }, 'alerts: a rule could not be evaluated');
        continue;
      }
      await this.reconcile(condition.kinds, findings, clock.now());
    }
  }

  private async reconcile(kinds: readonly IncidentKind[], findings: readonly Finding[], now: Date): Promise<void> {
    const open = await this.deps.db
      .selectFrom('incidents')
      .select(['kind', 'subject'])
      .where('kind', 'in', [...kinds])
      .where('resolved_at', 'is', null)
      .execute();
    const found = new Set(findings.map((f) => keyOf(f.kind, f.subject)));
    const gone = open.filter((o) => !found.has(keyOf(o.kind, o.subject)));
    for (const f of findings) await this.apply(f.kind, f.subject, f, now);
    for (const o of gone) await this.apply(o.kind, o.subject, null, now);
  }

  /** One subject's step: its latest incident, what the finding (or its absence) changes, the message. */
  private async apply(kind: IncidentKind, subject: string, finding: Finding | null, now: Date): Promise<void> {
    const { db, notifier, quietMs } = this.deps;
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${`alert:${kind}:${subject}`}))`.execute(trx);
      const { latest, before } = await latestIncident(trx, kind, subject);
      const organizationId = finding ? finding.target.organizationId : (latest?.organization_id ?? null);
      const rule = await notifier.ruleOf(trx, organizationId, kind);
      const policy = { failThreshold: 1, okThreshold: 1, quietMs, repeatMs: rule.repeatMs, notify: rule.enabled };
      const out = step({ fails: 0, goods: 0 }, before, finding === null, now, policy);
      const incident = out.incident;
      if (incident === null) return;
      // The target rides in the details: the "resolved" message names it when nothing is found any more.
      const details = finding ? { ...finding.details, target: finding.target } : (latest?.details ?? {});
      let id = latest?.id;
      let flaps = latest?.flaps ?? 0;
      if (out.transition === 'open' && finding) {
        const made = await trx
          .insertInto('incidents')
          .values({
            instance_id: finding.target.instanceId,
            organization_id: finding.target.organizationId,
            kind,
            subject,
            opened_at: now,
            details: JSON.stringify(details),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        id = made.id;
        flaps = 0;
      } else if (out.transition === 'reopen') flaps += 1;
      if (id === undefined) return;
      await saveIncident(trx, id, incident, details, flaps);
      if (out.notify === null) return;
      const target = (details.target ?? null) as AlertTarget | null;
      if (target === null) return;
      await notifier.notify(trx, {
        event: out.notify,
        at: now,
        incidentId: id,
        kind,
        target,
        openedAt: incident.openedAt,
        resolvedAt: incident.resolvedAt,
        details,
        flaps,
      });
    });
  }

  start(): void {
    this.ticker.start();
  }

  async stop(): Promise<void> {
    await this.ticker.stop();
  }
}
