import type { Db } from '../../db/database.js';
import type { IncidentKind } from '../../db/schema-metrics.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { requirePermission } from '../../platform/permissions.js';
import { invalid, isUuid } from '../../platform/validation.js';
import { catalogue } from '../alerts/catalogue.js';
import type { InstanceService } from '../instances/service.js';
import { availability } from './machine.js';

export interface DayView {
  day: string;
  checks: number;
  failures: number;
  downSeconds: number;
  availability: number;
}

export interface IncidentView {
  id: string;
  instanceId: string | null;
  /** The instance's name (an organization's list only). */
  instanceName?: string | null;
  kind: string;
  /** What fired, in a few words (the rule's title). */
  title: string;
  /** Within the kind: the instance, domain, host or organization it is about. */
  subject: string;
  openedAt: string;
  resolvedAt: string | null;
  details: Record<string, unknown>;
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The month's days in UTC, `YYYY-MM-DD`, and the first day of the next month. */
export function monthBounds(month: string): { from: string; to: string } {
  const match = MONTH.exec(month);
  if (!match) throw invalid('range', 'The range is a month, YYYY-MM.');
  const start = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1));
  const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  return { from: start.toISOString().slice(0, 10), to: end.toISOString().slice(0, 10) };
}

/** A month's availability from its day rollups: checks that passed over checks made. */
export function monthAvailability(days: readonly Pick<DayView, 'checks' | 'failures'>[]): number {
  const checks = days.reduce((n, d) => n + d.checks, 0);
  const failures = days.reduce((n, d) => n + d.failures, 0);
  return availability(checks, failures);
}

const incidentView = (r: {
  id: string;
  instance_id: string | null;
  kind: IncidentKind;
  subject: string;
  opened_at: Date;
  resolved_at: Date | null;
  details: Record<string, unknown>;
}): IncidentView => ({
  id: r.id,
  instanceId: r.instance_id,
  kind: r.kind,
  title: catalogue[r.kind].title,
  subject: r.subject,
  openedAt: r.opened_at.toISOString(),
  resolvedAt: r.resolved_at?.toISOString() ?? null,
  details: r.details,
});

/** The SLA view: availability per day of a month, the month's and the current month's, and incidents. */
export class UptimeReader {
  constructor(private readonly deps: { db: Db; clock: Clock; instances: Pick<InstanceService, 'get'> }) {}

  private async days(instanceId: string, month: string): Promise<DayView[]> {
    const { from, to } = monthBounds(month);
    const rows = await this.deps.db
      .selectFrom('uptime_days')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('day', '>=', from)
      .where('day', '<', to)
      .orderBy('day')
      .execute();
    return rows.map((r) => ({
      day: typeof r.day === 'string' ? r.day : new Date(r.day).toISOString().slice(0, 10),
      checks: r.checks,
      failures: r.failures,
      downSeconds: r.down_seconds,
      availability: availability(r.checks, r.failures),
    }));
  }

  async instance(actor: Actor, id: string, range?: string) {
    const instance = await this.deps.instances.get(actor, id);
    const current = this.deps.clock.now().toISOString().slice(0, 7);
    const month = range ?? current;
    const days = await this.days(instance.id, month);
    const currentDays = month === current ? days : await this.days(instance.id, current);
    const { from, to } = monthBounds(month);
    const incidents = await this.deps.db
      .selectFrom('incidents')
      .selectAll()
      .where('instance_id', '=', instance.id)
      .where('opened_at', '<', new Date(`${to}T00:00:00Z`))
      .where((eb) => eb.or([eb('resolved_at', 'is', null), eb('resolved_at', '>=', new Date(`${from}T00:00:00Z`))]))
      .orderBy('opened_at', 'desc')
      .limit(200)
      .execute();
    return {
      instanceId: instance.id,
      month,
      days,
      availability: monthAvailability(days),
      currentMonthAvailability: monthAvailability(currentDays),
      incidents: incidents.map(incidentView),
    };
  }

  async organization(actor: Actor, organizationId: string, open?: boolean): Promise<IncidentView[]> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    await requirePermission(this.deps.db, actor, organizationId, 'instance.view');
    const rows = await this.deps.db
      .selectFrom('incidents as n')
      .leftJoin('instances as i', 'i.id', 'n.instance_id')
      .selectAll('n')
      .select('i.name as instance_name')
      .where('n.organization_id', '=', organizationId)
      .$if(open === true, (q) => q.where('n.resolved_at', 'is', null))
      .orderBy('n.opened_at', 'desc')
      .limit(200)
      .execute();
    // The instance's name comes along: the page need not fetch every instance to name a few.
    return rows.map((r) => ({ ...incidentView(r), instanceName: r.instance_name }));
  }
}
