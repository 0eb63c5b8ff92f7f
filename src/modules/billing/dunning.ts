import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { Notices } from '../../platform/notices.js';
import { DAY_MS } from '../lifecycle/machine.js';
import type { Change, LifecycleService } from '../lifecycle/service.js';
import { mailOwners, organizationFacts, recordStep } from '../lifecycle/steps.js';
import { billingUrl } from './ledger.js';
import { formatMoney } from './money.js';
import { readBillingSettings } from './settings.js';

export interface DunningDeps {
  db: Db;
  clock: Clock;
  notices: Notices;
  lifecycle: Pick<LifecycleService, 'transition' | 'afterChange'>;
  publicUrl: string;
  logger: Logger;
}

export interface DunningReport {
  pastDue: string[];
  reminded: string[];
  suspended: string[];
}

const SYSTEM = { actor: { kind: 'system' as const, label: 'billing' }, ip: null };

/**
 * Unpaid invoices after their due date: the subscription goes past due, reminders go out on the
 * configured days after the due date, and after the last one the organization is suspended (the
 * lifecycle's suspension: instances stopped, data kept) until it pays. Every step is keyed in
 * subscription_events, so ticks after a restart or from two processes mail once and suspend once;
 * of several reminders due together (after downtime) only the latest is sent.
 */
export class Dunning {
  constructor(private readonly deps: DunningDeps) {}

  async tick(now: Date = this.deps.clock.now()): Promise<DunningReport> {
    const report: DunningReport = { pastDue: [], reminded: [], suspended: [] };
    const settings = await readBillingSettings(this.deps.db);
    const overdue = await this.deps.db
      .selectFrom('invoices')
      .innerJoin('subscriptions', 'subscriptions.organization_id', 'invoices.organization_id')
      .select([
        'invoices.id',
        'invoices.number',
        'invoices.organization_id',
        'invoices.due_at',
        'invoices.total_minor',
        'invoices.currency',
        'subscriptions.status',
      ])
      .where('invoices.kind', '=', 'invoice')
      .where('invoices.status', '=', 'open')
      .where('invoices.due_at', '<=', now)
      .where('subscriptions.status', 'in', ['active', 'past_due'])
      .orderBy('invoices.due_at')
      .execute();
    for (const invoice of overdue) {
      const dueAt = invoice.due_at as Date;
      const suspendAt = new Date(dueAt.getTime() + settings.suspendAfterDays * DAY_MS);
      try {
        if (
          invoice.status === 'active' &&
          (await this.step(invoice.organization_id, 'past_due', `unpaid:${invoice.id}`, invoice.number))
        )
          report.pastDue.push(invoice.number);
        const due = settings.reminderDays
          .map((days) => ({ days, at: new Date(dueAt.getTime() + days * DAY_MS) }))
          .filter((r) => r.at <= now && now < suspendAt);
        for (const [index, reminder] of due.entries()) {
          const send = index === due.length - 1;
          if (await this.remind(invoice, reminder.days, send, { dueAt, suspendAt, now }))
            report.reminded.push(`${invoice.number}+${reminder.days}d`);
        }
        if (
          now >= suspendAt &&
          (await this.step(invoice.organization_id, 'suspended', `dunning_end:${invoice.id}`, invoice.number))
        )
          report.suspended.push(invoice.number);
      } catch (error) {
        this.deps.logger.error({ err: error, invoice: invoice.number }, 'billing: a dunning step failed; next tick');
      }
    }
    return report;
  }

  private async step(
    organizationId: string,
    to: 'past_due' | 'suspended',
    key: string,
    number: string,
  ): Promise<boolean> {
    let change: Change | null = null;
    try {
      change = await this.deps.db.transaction().execute((trx) =>
        this.deps.lifecycle.transition(trx, organizationId, to, {
          cause: to === 'past_due' ? 'unpaid' : 'dunning_end',
          key,
          ctx: SYSTEM,
          details: { invoice: number },
          ...(to === 'suspended' ? { mailVars: {} } : {}),
        }),
      );
    } catch (error) {
      // Its status moved since the read (paid, suspended by an admin): nothing to do.
      if ((error as { code?: string }).code === 'MARINA_E_CONFLICT') return false;
      throw error;
    }
    await this.deps.lifecycle.afterChange(
      change,
      to === 'suspended' ? 'organization suspended: unpaid invoice' : 'invoice overdue',
    );
    return change !== null;
  }

  private async remind(
    invoice: { id: string; number: string; organization_id: string; total_minor: string; currency: string },
    days: number,
    send: boolean,
    at: { dueAt: Date; suspendAt: Date; now: Date },
  ): Promise<boolean> {
    const key = `dunning:${invoice.id}:${days}`;
    const sent = await this.deps.db.transaction().execute(async (trx: Db) => {
      const recorded = await recordStep(trx, invoice.organization_id, {
        key,
        cause: 'dunning_reminder',
        outcome: send ? 'done' : 'skipped',
        at: at.now,
        details: { invoice: invoice.number, days },
      });
      if (!recorded || !send) return false;
      const organization = await organizationFacts(trx, invoice.organization_id);
      if (!organization) return false;
      await mailOwners(trx, this.deps.notices, organization, {
        key: 'payment_reminder',
        stepKey: key,
        portalUrl: this.deps.publicUrl,
        vars: {
          number: invoice.number,
          total: formatMoney(BigInt(invoice.total_minor), invoice.currency),
          due_at: at.dueAt.toISOString(),
          suspend_at: at.suspendAt.toISOString(),
          url: billingUrl(this.deps.publicUrl, organization.slug),
        },
      });
      return true;
    });
    if (sent) await this.deps.notices.drain().catch(() => undefined);
    return sent;
  }
}
