import type { Db } from '../../../db/database.js';
import type { IncidentKind } from '../../../db/schema-metrics.js';
import type { Clock } from '../../../platform/clock.js';
import type { AlertTarget } from '../events.js';

/** Something a rule found wrong now: an open incident of its kind and subject while it lasts. */
export interface Finding {
  kind: IncidentKind;
  subject: string;
  target: AlertTarget;
  /** `summary` is the sentence a person reads; the rest is what was measured. */
  details: { summary: string } & Record<string, unknown>;
}

export interface ConditionContext {
  db: Db;
  clock: Clock;
  /** How often instances are sampled (the memory rule needs its samples to cover the window). */
  sampleIntervalMs: number;
  hostDiskPercent: number;
  /** Where Marina keeps its data: the disk the host rule watches. */
  dataDir: string;
}

/** One rule's evaluation: what it finds now, for the kinds it owns. */
export interface Condition {
  kinds: readonly IncidentKind[];
  evaluate(ctx: ConditionContext): Promise<Finding[]>;
}

/** The alert targets of instances, by id: their `project/instance` label and organization. */
export async function instanceTargets(db: Db, ids: readonly string[]): Promise<Map<string, AlertTarget>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('instances as i')
    .innerJoin('organizations as o', 'o.id', 'i.organization_id')
    .innerJoin('projects as p', 'p.id', 'i.project_id')
    .select(['i.id', 'i.name', 'i.organization_id', 'o.name as organization_name', 'p.name as project_name'])
    .where('i.id', 'in', [...new Set(ids)])
    .where('i.status', '!=', 'deleting')
    .execute();
  return new Map(
    rows.map((r) => [
      r.id,
      {
        instanceId: r.id,
        name: r.name,
        label: `${r.project_name}/${r.name}`,
        url: null,
        organizationId: r.organization_id,
        organizationName: r.organization_name,
        path: `/instances/${r.id}`,
      },
    ]),
  );
}

/** Findings about instances, dropping those whose instance is gone meanwhile. */
export async function aboutInstances<T extends { instanceId: string }>(
  db: Db,
  rows: readonly T[],
  make: (row: T, target: AlertTarget) => Finding,
): Promise<Finding[]> {
  const targets = await instanceTargets(
    db,
    rows.map((r) => r.instanceId),
  );
  return rows.flatMap((r) => {
    const target = targets.get(r.instanceId);
    return target ? [make(r, target)] : [];
  });
}
