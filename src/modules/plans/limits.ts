import type { Selectable } from 'kysely';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { PlansTable, Stage, SubscriptionsTable } from '../../db/schema.js';
import type { PlanLimits } from './schemas.js';

export type Limits = Static<typeof PlanLimits>;
export type PlanRow = Selectable<PlansTable>;
export type SubscriptionRow = Selectable<SubscriptionsTable>;

/** Column of each limit, one place for the API's names and the table's. */
export const limitColumns = {
  maxProduction: 'max_production',
  maxStaging: 'max_staging',
  maxDevelopment: 'max_development',
  maxCpus: 'max_cpus',
  maxMemoryMb: 'max_memory_mb',
  maxWorkers: 'max_workers',
  storageMb: 'storage_mb',
  backupKeepDaily: 'backup_keep_daily',
  backupKeepWeekly: 'backup_keep_weekly',
  backupKeepMonthly: 'backup_keep_monthly',
  offsiteMb: 'offsite_mb',
  maxCustomDomains: 'max_custom_domains',
} as const satisfies Record<keyof Limits, keyof PlanRow>;

export function limitsOf(plan: PlanRow): Limits {
  return {
    maxProduction: plan.max_production,
    maxStaging: plan.max_staging,
    maxDevelopment: plan.max_development,
    // numeric(4,1) comes back as a string.
    maxCpus: plan.max_cpus === null ? null : Number(plan.max_cpus),
    maxMemoryMb: plan.max_memory_mb,
    maxWorkers: plan.max_workers,
    storageMb: plan.storage_mb,
    backupKeepDaily: plan.backup_keep_daily,
    backupKeepWeekly: plan.backup_keep_weekly,
    backupKeepMonthly: plan.backup_keep_monthly,
    offsiteMb: plan.offsite_mb,
    maxCustomDomains: plan.max_custom_domains,
  };
}

/** How many instances a stage may have: a plan without staging allows none. */
export function stageLimit(plan: PlanRow, stage: Stage): number | null {
  if (stage === 'staging' && !plan.staging_allowed) return 0;
  return { production: plan.max_production, staging: plan.max_staging, development: plan.max_development }[stage];
}

export const MB = 1024 * 1024;

/** What an organization holds, as the quotas count it. */
export interface OrganizationHoldings {
  instances: Record<Stage, number>;
  customDomains: number;
  /** Database + filestore of its instances, as last measured (instance_usage). */
  storageBytes: number;
  /** Its verified offsite copies. */
  offsiteBytes: number;
  measuredAt: Date | null;
}

/**
 * Counts what the organization holds. An instance being deleted no longer counts: its slot is
 * being given back. Storage comes from Marina's own measurements, never the tenant's tables.
 */
export async function holdingsOf(db: Db, organizationId: string): Promise<OrganizationHoldings> {
  const [stageRows, domains, storage, offsite] = await Promise.all([
    db
      .selectFrom('instances')
      .select(['stage', (eb) => eb.fn.countAll<string>().as('count')])
      .where('organization_id', '=', organizationId)
      .where('status', '<>', 'deleting')
      .groupBy('stage')
      .execute(),
    db
      .selectFrom('domains')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('organization_id', '=', organizationId)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('instance_usage')
      .innerJoin('instances', 'instances.id', 'instance_usage.instance_id')
      .select((eb) => [
        eb.fn.coalesce(eb.fn.sum<string>('instance_usage.database_bytes'), eb.lit(0)).as('database'),
        eb.fn.coalesce(eb.fn.sum<string>('instance_usage.filestore_bytes'), eb.lit(0)).as('filestore'),
        eb.fn.max('instance_usage.measured_at').as('measured_at'),
      ])
      .where('instance_usage.organization_id', '=', organizationId)
      .where('instances.status', '<>', 'deleting')
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('backup_copies')
      .innerJoin('backups', 'backups.id', 'backup_copies.backup_id')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('backup_copies.size_bytes'), eb.lit(0)).as('bytes'))
      .where('backups.organization_id', '=', organizationId)
      .where('backup_copies.status', '=', 'verified')
      .executeTakeFirstOrThrow(),
  ]);
  const instances: Record<Stage, number> = { production: 0, staging: 0, development: 0 };
  for (const row of stageRows) instances[row.stage] = Number(row.count);
  return {
    instances,
    customDomains: Number(domains.count),
    storageBytes: Number(storage.database) + Number(storage.filestore),
    offsiteBytes: Number(offsite.bytes),
    measuredAt: storage.measured_at ? new Date(storage.measured_at as Date | string) : null,
  };
}
