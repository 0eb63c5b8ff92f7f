import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import { stages } from '../../db/schema.js';
import { workerSettings } from '../../odoo/sizing.js';
import { holdingsOf, MB, type PlanRow, stageLimit } from './limits.js';
import type { QuotaProblem } from './schemas.js';

export type Problem = Static<typeof QuotaProblem>;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const size = (bytes: number) =>
  bytes >= 1024 * MB ? `${(bytes / (1024 * MB)).toFixed(1)} GB` : `${Math.ceil(bytes / MB)} MB`;

interface RetentionCounts {
  daily?: number;
  weekly?: number;
  monthly?: number;
}

/**
 * Everything the organization would be over in `plan`, each with what brings it back under.
 * Empty means it fits. Nothing is ever removed for the customer: the list says what to do.
 */
export async function planFit(db: Db, organizationId: string, plan: PlanRow): Promise<Problem[]> {
  const problems: Problem[] = [];
  const holdings = await holdingsOf(db, organizationId);
  for (const stage of stages) {
    const allowed = stageLimit(plan, stage);
    const usage = holdings.instances[stage];
    if (allowed !== null && usage > allowed)
      problems.push({
        limit:
          stage === 'staging' && !plan.staging_allowed
            ? 'stagingAllowed'
            : `max${stage[0]?.toUpperCase()}${stage.slice(1)}`,
        usage,
        allowed,
        remove: `delete ${plural(usage - allowed, `${stage} instance`)}`,
      });
  }
  const instances = await db
    .selectFrom('instances')
    .innerJoin('projects', 'projects.id', 'instances.project_id')
    .select(['instances.id', 'instances.name', 'projects.name as project', 'instances.cpus', 'instances.memory_mb'])
    .where('instances.organization_id', '=', organizationId)
    .where('instances.status', '<>', 'deleting')
    .orderBy('projects.name')
    .orderBy('instances.name')
    .execute();
  const maxCpus = plan.max_cpus === null ? null : Number(plan.max_cpus);
  for (const instance of instances) {
    const label = `${instance.project}/${instance.name}`;
    const cpus = Number(instance.cpus);
    if (maxCpus !== null && cpus > maxCpus)
      problems.push({
        limit: 'maxCpus',
        usage: cpus,
        allowed: maxCpus,
        remove: `resize ${label} to ≤ ${plural(maxCpus, 'CPU')}`,
      });
    if (plan.max_memory_mb !== null && instance.memory_mb > plan.max_memory_mb)
      problems.push({
        limit: 'maxMemoryMb',
        usage: instance.memory_mb,
        allowed: plan.max_memory_mb,
        remove: `resize ${label} to ≤ ${plan.max_memory_mb} MB of memory`,
      });
    const { workers } = workerSettings({ cpus, memoryMb: instance.memory_mb });
    if (plan.max_workers !== null && workers > plan.max_workers)
      problems.push({
        limit: 'maxWorkers',
        usage: workers,
        allowed: plan.max_workers,
        remove: `resize ${label} to a size with ≤ ${plural(plan.max_workers, 'Odoo worker')}`,
      });
  }
  if (plan.max_custom_domains !== null && holdings.customDomains > plan.max_custom_domains)
    problems.push({
      limit: 'maxCustomDomains',
      usage: holdings.customDomains,
      allowed: plan.max_custom_domains,
      remove: `remove ${plural(holdings.customDomains - plan.max_custom_domains, 'custom domain')}`,
    });
  if (plan.storage_mb !== null && holdings.storageBytes > plan.storage_mb * MB)
    problems.push({
      limit: 'storageMb',
      usage: Math.round((holdings.storageBytes / MB) * 10) / 10,
      allowed: plan.storage_mb,
      remove: `free ${size(holdings.storageBytes - plan.storage_mb * MB)}`,
    });
  if (plan.offsite_mb !== null && holdings.offsiteBytes > plan.offsite_mb * MB)
    problems.push({
      limit: 'offsiteMb',
      usage: Math.round((holdings.offsiteBytes / MB) * 10) / 10,
      allowed: plan.offsite_mb,
      remove:
        plan.offsite_mb === 0
          ? 'delete every offsite copy (the plan has no offsite backups)'
          : `delete ${size(holdings.offsiteBytes - plan.offsite_mb * MB)} of offsite copies`,
    });
  problems.push(...(await retentionProblems(db, organizationId, plan)));
  return problems;
}

/** Schedules keeping more backups than the plan allows, per instance and count. */
async function retentionProblems(db: Db, organizationId: string, plan: PlanRow): Promise<Problem[]> {
  const caps = [
    ['backupKeepDaily', 'daily', plan.backup_keep_daily],
    ['backupKeepWeekly', 'weekly', plan.backup_keep_weekly],
    ['backupKeepMonthly', 'monthly', plan.backup_keep_monthly],
  ] as const;
  if (caps.every(([, , cap]) => cap === null)) return [];
  const schedules = await db
    .selectFrom('schedules')
    .innerJoin('instances', 'instances.id', 'schedules.instance_id')
    .innerJoin('projects', 'projects.id', 'instances.project_id')
    .select(['schedules.retention', 'instances.name', 'projects.name as project'])
    .where('instances.organization_id', '=', organizationId)
    .where('instances.status', '<>', 'deleting')
    .execute();
  const problems: Problem[] = [];
  for (const schedule of schedules) {
    const asked = retentionAsk(schedule.retention);
    for (const [limit, word, cap] of caps) {
      if (cap !== null && asked[word] > cap)
        problems.push({
          limit,
          usage: asked[word],
          allowed: cap,
          remove: `keep at most ${plural(cap, `${word} backup`)} in the schedule of ${schedule.project}/${schedule.name}`,
        });
    }
  }
  return problems;
}

/** The most a schedule keeps of each kind, locally or at any destination. */
export function retentionAsk(retention: unknown): { daily: number; weekly: number; monthly: number } {
  const settings = (retention ?? {}) as { local?: RetentionCounts; destinations?: Record<string, RetentionCounts> };
  const policies = [settings.local ?? {}, ...Object.values(settings.destinations ?? {})];
  const most = (key: keyof RetentionCounts) => Math.max(0, ...policies.map((p) => Number(p[key] ?? 0)));
  return { daily: most('daily'), weekly: most('weekly'), monthly: most('monthly') };
}
