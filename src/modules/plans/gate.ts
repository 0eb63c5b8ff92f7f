import type { Db } from '../../db/database.js';
import type { Stage } from '../../db/schema.js';
import { workerSettings } from '../../odoo/sizing.js';
import { MarinaError } from '../../platform/errors.js';
import { lockOrganization, type QuotaAsk, type QuotaGate } from '../../platform/quota.js';
import { holdingsOf, MB, type PlanRow, type SubscriptionRow, stageLimit } from './limits.js';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** The refusal: the message names the plan, the limit and the usage; the details carry them. */
export function quotaExceeded(plan: PlanRow, limit: string, usage: number, allowed: number, message: string) {
  return new MarinaError('MARINA_E_QUOTA_EXCEEDED', message, { limit, usage, allowed, plan: plan.name });
}

/** The organization's subscription and its plan; none means no plan and no limits. */
export async function subscriptionOf(
  db: Db,
  organizationId: string,
): Promise<{ subscription: SubscriptionRow; plan: PlanRow } | undefined> {
  const subscription = await db
    .selectFrom('subscriptions')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
  if (!subscription) return undefined;
  const plan = await db
    .selectFrom('plans')
    .selectAll()
    .where('id', '=', subscription.plan_id)
    .executeTakeFirstOrThrow();
  return { subscription, plan };
}

const stageLimitName: Record<Stage, string> = {
  production: 'maxProduction',
  staging: 'maxStaging',
  development: 'maxDevelopment',
};

/** One instance's size against the plan's per-instance limits (create and resize). */
export function sizeRefusal(plan: PlanRow, cpus: number, memoryMb: number): MarinaError | undefined {
  const maxCpus = plan.max_cpus === null ? null : Number(plan.max_cpus);
  if (maxCpus !== null && cpus > maxCpus)
    return quotaExceeded(
      plan,
      'maxCpus',
      cpus,
      maxCpus,
      `Plan ${plan.name} allows ${plural(maxCpus, 'CPU')} per instance; this asks for ${cpus}.`,
    );
  if (plan.max_memory_mb !== null && memoryMb > plan.max_memory_mb)
    return quotaExceeded(
      plan,
      'maxMemoryMb',
      memoryMb,
      plan.max_memory_mb,
      `Plan ${plan.name} allows ${plan.max_memory_mb} MB of memory per instance; this asks for ${memoryMb} MB.`,
    );
  // Refused, never silently capped: the customer would get less than the size they chose.
  const { workers } = workerSettings({ cpus, memoryMb });
  if (plan.max_workers !== null && workers > plan.max_workers)
    return quotaExceeded(
      plan,
      'maxWorkers',
      workers,
      plan.max_workers,
      `Plan ${plan.name} allows ${plural(plan.max_workers, 'Odoo worker')} per instance; ${cpus} CPUs and ${memoryMb} MB make ${workers}. Choose a smaller size.`,
    );
  return undefined;
}

/** Why the ask does not fit the plan, or undefined when it fits. */
export async function askRefusal(
  db: Db,
  organizationId: string,
  plan: PlanRow,
  ask: QuotaAsk,
): Promise<MarinaError | undefined> {
  switch (ask.kind) {
    case 'instance': {
      const allowed = stageLimit(plan, ask.stage);
      if (allowed !== null) {
        const usage = (await holdingsOf(db, organizationId)).instances[ask.stage];
        if (usage + 1 > allowed) {
          const message =
            ask.stage === 'staging' && !plan.staging_allowed
              ? `Plan ${plan.name} does not include staging instances.`
              : `Plan ${plan.name} allows ${plural(allowed, `${ask.stage} instance`)}; you have ${usage}.`;
          return quotaExceeded(
            plan,
            ask.stage === 'staging' && !plan.staging_allowed ? 'stagingAllowed' : stageLimitName[ask.stage],
            usage,
            allowed,
            message,
          );
        }
      }
      return sizeRefusal(plan, ask.cpus, ask.memoryMb);
    }
    case 'resize': {
      const refusal = sizeRefusal(plan, ask.cpus, ask.memoryMb);
      if (refusal) return refusal;
      const current = await db
        .selectFrom('instances')
        .select(['cpus', 'memory_mb'])
        .where('id', '=', ask.instanceId)
        .executeTakeFirst();
      // Growing is new capacity: refused while storage is full, like new data.
      const growing = !current || ask.cpus > Number(current.cpus) || ask.memoryMb > current.memory_mb;
      return growing ? storageRefusal(db, organizationId, plan) : undefined;
    }
    case 'domain': {
      if (plan.max_custom_domains === null) return undefined;
      const usage = (await holdingsOf(db, organizationId)).customDomains;
      if (usage + 1 <= plan.max_custom_domains) return undefined;
      return quotaExceeded(
        plan,
        'maxCustomDomains',
        usage,
        plan.max_custom_domains,
        `Plan ${plan.name} allows ${plural(plan.max_custom_domains, 'custom domain')}; you have ${usage}.`,
      );
    }
    case 'offsite': {
      if (plan.offsite_mb === null) return undefined;
      if (plan.offsite_mb === 0)
        return quotaExceeded(plan, 'offsiteMb', 0, 0, `Plan ${plan.name} includes no offsite backup copies.`);
      const usage = (await holdingsOf(db, organizationId)).offsiteBytes;
      if (usage + ask.bytes <= plan.offsite_mb * MB) return undefined;
      return quotaExceeded(
        plan,
        'offsiteMb',
        mb(usage),
        plan.offsite_mb,
        `Plan ${plan.name} allows ${plan.offsite_mb} MB of offsite copies; you have ${mb(usage)} MB and this copy adds ${mb(ask.bytes)} MB.`,
      );
    }
    case 'retention': {
      const caps = [
        ['backupKeepDaily', 'daily', ask.daily, plan.backup_keep_daily],
        ['backupKeepWeekly', 'weekly', ask.weekly, plan.backup_keep_weekly],
        ['backupKeepMonthly', 'monthly', ask.monthly, plan.backup_keep_monthly],
      ] as const;
      for (const [limit, word, asked, cap] of caps) {
        if (cap !== null && asked > cap)
          return quotaExceeded(
            plan,
            limit,
            asked,
            cap,
            `Plan ${plan.name} keeps at most ${plural(cap, `${word} backup`)}; the schedule asks for ${asked}.`,
          );
      }
      return undefined;
    }
    case 'data':
      return storageRefusal(db, organizationId, plan);
  }
}

/** Storage at or over 100 %: nothing new (running instances, backups and downloads go on). */
async function storageRefusal(db: Db, organizationId: string, plan: PlanRow): Promise<MarinaError | undefined> {
  if (plan.storage_mb === null) return undefined;
  const usage = (await holdingsOf(db, organizationId)).storageBytes;
  if (usage < plan.storage_mb * MB) return undefined;
  return quotaExceeded(
    plan,
    'storageMb',
    mb(usage),
    plan.storage_mb,
    `Plan ${plan.name} allows ${plan.storage_mb} MB of storage; you use ${mb(usage)} MB. Free some space first.`,
  );
}

/**
 * The quotas of the organization's plan. An organization without a subscription has no plan: all
 * fits. `require` runs in the caller's transaction and takes the organization's advisory lock, so
 * two requests for the last slot are answered one after the other and only one wins.
 */
export class PlanGate implements QuotaGate {
  async require(trx: Db, organizationId: string, ask: QuotaAsk): Promise<void> {
    await lockOrganization(trx, organizationId);
    await this.check(trx, organizationId, ask);
  }

  preview(db: Db, organizationId: string, ask: QuotaAsk): Promise<void> {
    return this.check(db, organizationId, ask);
  }

  async requireOperational(db: Db, organizationId: string, what: string): Promise<void> {
    const subscription = await db
      .selectFrom('subscriptions')
      .select(['status', 'suspended_kind', 'suspended_at', 'cancelled_at'])
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
    if (!subscription || (subscription.status !== 'suspended' && subscription.status !== 'cancelled')) return;
    const cancelled = subscription.status === 'cancelled';
    const since = (cancelled ? subscription.cancelled_at : subscription.suspended_at) ?? subscription.suspended_at;
    throw new MarinaError(
      'MARINA_E_ORGANIZATION_SUSPENDED',
      cancelled
        ? `The organization's subscription has ended: it cannot ${what}.`
        : `The organization is suspended: it cannot ${what}.`,
      { kind: cancelled ? 'cancelled' : (subscription.suspended_kind ?? 'admin'), since: since?.toISOString() ?? null },
    );
  }

  private async check(db: Db, organizationId: string, ask: QuotaAsk): Promise<void> {
    const found = await subscriptionOf(db, organizationId);
    if (!found) return;
    const refusal = await askRefusal(db, organizationId, found.plan, ask);
    if (refusal) throw refusal;
  }
}
