import { sql } from 'kysely';
import { ruleLookup, settingOf } from '../rules.js';
import { aboutInstances, type Condition, type Finding } from './finding.js';

const MINUTE = 60_000;
const HOUR = 3600_000;

/**
 * Memory near the limit: every sample of the last `minutes` at or above `percent` of the limit, and
 * the samples cover the window (one missed minute allowed), so a single spike never fires.
 */
export const memoryHigh: Condition = {
  kinds: ['memory_high'],
  async evaluate({ db, clock, sampleIntervalMs }) {
    const rule = await ruleLookup(db, 'memory_high');
    const nowMinute = Math.floor(clock.now().getTime() / MINUTE);
    // The widest window a rule may ask for; each organization's own is applied below.
    const rows = await db
      .selectFrom('metric_minutes as m')
      .innerJoin('metric_series as s', 's.id', 'm.series')
      .innerJoin('instances as i', 'i.id', 's.instance_id')
      .select(['s.instance_id', 's.organization_id', 'm.minute', 'm.memory_kib', 'm.memory_limit_kib'])
      .where('i.status', '=', 'running')
      .where('m.minute', '>', nowMinute - 60)
      .where('m.memory_limit_kib', '>', 0)
      .execute();
    const byInstance = new Map<string, typeof rows>();
    for (const r of rows) byInstance.set(r.instance_id, [...(byInstance.get(r.instance_id) ?? []), r]);
    const firing: { instanceId: string; percent: number; minutes: number; worst: number; lowest: number }[] = [];
    for (const [instanceId, samples] of byInstance) {
      const r = rule(samples[0]?.organization_id ?? '');
      if (!r.enabled) continue;
      const percent = settingOf(r, 'percent');
      const minutes = settingOf(r, 'minutes');
      const window = samples.filter((x) => x.minute > nowMinute - minutes);
      const needed = Math.max(1, Math.ceil((minutes * MINUTE) / Math.max(MINUTE, sampleIntervalMs)) - 1);
      const shares = window.map((x) => ((x.memory_kib ?? 0) * 100) / (x.memory_limit_kib ?? 1));
      if (shares.length < needed || shares.some((share) => share < percent)) continue;
      firing.push({ instanceId, percent, minutes, worst: Math.max(...shares), lowest: Math.min(...shares) });
    }
    return aboutInstances(
      db,
      firing,
      (f, target): Finding => ({
        kind: 'memory_high',
        subject: f.instanceId,
        target,
        details: {
          summary: `Memory has stayed at ${Math.round(f.lowest)}–${Math.round(f.worst)} % of the limit for ${f.minutes} minutes (alert at ${f.percent} %).`,
          percent: Math.round(f.worst * 10) / 10,
          threshold: f.percent,
          minutes: f.minutes,
        },
      }),
    );
  },
};

/**
 * No completed backup within `hours` for an instance whose backups are scheduled. An instance (or a
 * schedule) younger than that is given its first chance.
 */
export const backupStale: Condition = {
  kinds: ['backup_stale'],
  async evaluate({ db, clock }) {
    const rule = await ruleLookup(db, 'backup_stale');
    const now = clock.now().getTime();
    const rows = await db
      .selectFrom('schedules as sc')
      .innerJoin('instances as i', 'i.id', 'sc.instance_id')
      .select([
        'i.id as instanceId',
        'i.organization_id',
        'i.created_at',
        'sc.updated_at',
        (eb) =>
          eb
            .selectFrom('backups as b')
            .select((b) => b.fn.max('b.completed_at').as('last'))
            .whereRef('b.instance_id', '=', 'i.id')
            .where('b.status', '=', 'completed')
            .as('last_backup'),
      ])
      .where('sc.enabled', '=', true)
      .where('i.status', 'not in', ['deleting', 'provisioning', 'failed'])
      .execute();
    const firing = rows.flatMap((r) => {
      const view = rule(r.organization_id);
      const hours = settingOf(view, 'hours');
      const limit = now - hours * HOUR;
      const last = r.last_backup ? new Date(r.last_backup as Date | string).getTime() : null;
      const since = Math.max(r.created_at.getTime(), r.updated_at.getTime());
      if (!view.enabled || since > limit || (last !== null && last > limit)) return [];
      return [{ instanceId: r.instanceId, hours, last }];
    });
    return aboutInstances(
      db,
      firing,
      (f, target): Finding => ({
        kind: 'backup_stale',
        subject: f.instanceId,
        target,
        details: {
          summary:
            f.last === null
              ? `No backup of this instance has completed yet (scheduled; alert after ${f.hours} h).`
              : `The last completed backup is ${Math.floor((now - f.last) / HOUR)} hours old (alert after ${f.hours} h).`,
          lastBackupAt: f.last === null ? null : new Date(f.last).toISOString(),
          hours: f.hours,
        },
      }),
    );
  },
};

/** The latest offsite copy of an instance's backups to some destination failed (a later good one clears it). */
export const offsiteFailed: Condition = {
  kinds: ['offsite_failed'],
  async evaluate({ db }) {
    const rule = await ruleLookup(db, 'offsite_failed');
    const rows = await db
      .selectFrom((eb) =>
        eb
          .selectFrom('backup_copies as c')
          .innerJoin('backups as b', 'b.id', 'c.backup_id')
          .innerJoin('destinations as d', 'd.id', 'c.destination_id')
          .select([
            'b.instance_id',
            'b.organization_id',
            'd.name as destination',
            'c.status',
            'c.error',
            'c.updated_at',
            sql<number>`row_number() over (partition by b.instance_id, c.destination_id order by c.created_at desc)`.as(
              'rn',
            ),
          ])
          .where('b.instance_id', 'is not', null)
          .where('c.status', 'in', ['verified', 'failed'])
          .as('latest'),
      )
      .selectAll()
      .where('rn', '=', 1)
      .where('status', '=', 'failed')
      .execute();
    const byInstance = new Map<string, { instanceId: string; destinations: string[]; error: string | null }>();
    for (const r of rows) {
      if (r.instance_id === null || !rule(r.organization_id).enabled) continue;
      const seen = byInstance.get(r.instance_id) ?? { instanceId: r.instance_id, destinations: [], error: r.error };
      seen.destinations.push(r.destination);
      byInstance.set(r.instance_id, seen);
    }
    return aboutInstances(
      db,
      [...byInstance.values()],
      (f, target): Finding => ({
        kind: 'offsite_failed',
        subject: f.instanceId,
        target,
        details: {
          summary: `The latest copy to ${f.destinations.sort().join(', ')} failed: ${(f.error ?? 'no reason given').slice(0, 300)}`,
          destinations: f.destinations,
        },
      }),
    );
  },
};

/** The last `count` runs of the same job on an instance (within a week) all failed. */
export const jobFailing: Condition = {
  kinds: ['job_failing'],
  async evaluate({ db, clock }) {
    const rule = await ruleLookup(db, 'job_failing');
    const rows = await db
      .selectFrom((eb) =>
        eb
          .selectFrom('operations as o')
          .select([
            'o.target_id',
            'o.organization_id',
            'o.kind',
            'o.status',
            'o.id',
            sql<number>`row_number() over (partition by o.target_id, o.kind order by o.created_at desc)`.as('rn'),
          ])
          .where('o.target_type', '=', 'instance')
          .where('o.status', 'in', ['succeeded', 'failed'])
          .where('o.created_at', '>', new Date(clock.now().getTime() - 7 * 24 * HOUR))
          .as('recent'),
      )
      .selectAll()
      .where('rn', '<=', 20)
      .orderBy('rn')
      .execute();
    const runs = new Map<string, typeof rows>();
    for (const r of rows) runs.set(`${r.target_id}/${r.kind}`, [...(runs.get(`${r.target_id}/${r.kind}`) ?? []), r]);
    const firing = [...runs.values()].flatMap((list) => {
      const first = list[0];
      if (!first?.target_id || first.organization_id === null) return [];
      const view = rule(first.organization_id);
      const count = settingOf(view, 'count');
      const last = list.slice(0, count);
      if (!view.enabled || last.length < count || last.some((r) => r.status !== 'failed')) return [];
      return [{ instanceId: first.target_id, kind: first.kind, count, lastJob: first.id }];
    });
    return aboutInstances(
      db,
      firing,
      (f, target): Finding => ({
        kind: 'job_failing',
        subject: `${f.instanceId}/${f.kind}`,
        target: { ...target, path: `/jobs/${f.lastJob}` },
        details: {
          summary: `The last ${f.count} runs of ${f.kind} on this instance failed.`,
          job: f.kind,
          lastJobId: f.lastJob,
        },
      }),
    );
  },
};
