import { statfs } from 'node:fs/promises';
import { sql } from 'kysely';
import { ruleLookup, settingOf } from '../rules.js';
import type { Condition, Finding } from './finding.js';

const DAY = 86_400_000;
const MB = 1024 * 1024;

/**
 * Storage over `percent` of the plan's quota, counted as the quota gate counts it (src/modules/plans/
 * limits.ts `holdingsOf`): Marina's own measurements of instances not being deleted.
 */
export const storageQuota: Condition = {
  kinds: ['storage_quota'],
  async evaluate({ db }) {
    const rule = await ruleLookup(db, 'storage_quota');
    const rows = await db
      .selectFrom('subscriptions as s')
      .innerJoin('plans as p', 'p.id', 's.plan_id')
      .innerJoin('organizations as o', 'o.id', 's.organization_id')
      .select([
        'o.id',
        'o.name',
        'p.storage_mb',
        (eb) =>
          eb
            .selectFrom('instance_usage as u')
            .innerJoin('instances as i', 'i.id', 'u.instance_id')
            .select(sql<string | null>`sum(u.database_bytes + u.filestore_bytes)`.as('bytes'))
            .whereRef('u.organization_id', '=', 'o.id')
            .where('i.status', '!=', 'deleting')
            .as('used'),
      ])
      .where('s.status', '!=', 'cancelled')
      .where('p.storage_mb', '>', 0)
      .execute();
    return rows.flatMap((r): Finding[] => {
      const view = rule(r.id);
      const percent = settingOf(view, 'percent');
      const used = Number(r.used ?? 0);
      const share = (used * 100) / ((r.storage_mb ?? 0) * MB);
      if (!view.enabled || !(share >= percent)) return [];
      return [
        {
          kind: 'storage_quota',
          subject: r.id,
          target: {
            instanceId: null,
            name: r.name,
            label: r.name,
            url: null,
            organizationId: r.id,
            organizationName: r.name,
            path: `/organizations/${r.id}`,
          },
          details: {
            summary: `Databases and files take ${Math.round(used / MB)} MB of the plan's ${r.storage_mb} MB (${Math.round(share)} %; alert at ${percent} %).`,
            usedBytes: used,
            quotaMb: r.storage_mb,
            percent: Math.round(share * 10) / 10,
          },
        },
      ];
    });
  },
};

/** A domain's certificate expiring within `days`, or the last check or renewal failing. */
export const certificate: Condition = {
  kinds: ['certificate'],
  async evaluate({ db, clock }) {
    const rule = await ruleLookup(db, 'certificate');
    const now = clock.now().getTime();
    const rows = await db
      .selectFrom('domains as d')
      .innerJoin('instances as i', 'i.id', 'd.instance_id')
      .innerJoin('organizations as o', 'o.id', 'd.organization_id')
      .select(['d.id', 'd.hostname', 'd.organization_id', 'd.instance_id', 'd.certificate_state', 'o.name'])
      .where('d.status', '=', 'verified')
      .where('d.certificate_state', 'is not', null)
      .where('i.status', '!=', 'deleting')
      .execute();
    return rows.flatMap((r): Finding[] => {
      const view = rule(r.organization_id);
      const days = settingOf(view, 'days');
      const state = r.certificate_state;
      const notAfter = state?.notAfter ? Date.parse(state.notAfter) : Number.NaN;
      const left = (notAfter - now) / DAY;
      const expiring = Number.isFinite(left) && left <= days;
      const failing = typeof state?.error === 'string' && state.error !== '';
      if (!view.enabled || (!expiring && !failing)) return [];
      const when = left <= 0 ? 'has expired' : `expires in ${Math.max(1, Math.floor(left))} days`;
      return [
        {
          kind: 'certificate',
          subject: r.id,
          target: {
            instanceId: r.instance_id,
            name: r.hostname,
            label: r.hostname,
            url: `https://${r.hostname}`,
            organizationId: r.organization_id,
            organizationName: r.name,
            path: `/instances/${r.instance_id}?tab=domains`,
          },
          details: {
            summary: failing
              ? `The certificate of ${r.hostname} could not be checked or renewed: ${String(state?.error).slice(0, 300)}`
              : `The certificate of ${r.hostname} ${when} (alert within ${days} days).`,
            notAfter: Number.isFinite(notAfter) ? new Date(notAfter).toISOString() : null,
            error: failing ? state?.error : null,
          },
        },
      ];
    });
  },
};

/**
 * The disk holding Marina's data on its own host fuller than MARINA_ALERT_HOST_DISK_PERCENT (remote
 * engines' disks are not visible through the Docker API). The platform's admins are told.
 */
export const hostDisk: Condition = {
  kinds: ['host_disk'],
  async evaluate({ db, dataDir, hostDiskPercent }) {
    const disk = await statfs(dataDir);
    const total = disk.blocks * disk.bsize;
    const used = total - disk.bavail * disk.bsize;
    const share = total > 0 ? (used * 100) / total : 0;
    if (share < hostDiskPercent) return [];
    const host = await db.selectFrom('hosts').select(['id', 'name']).orderBy('created_at').executeTakeFirst();
    const name = host?.name ?? 'local';
    return [
      {
        kind: 'host_disk',
        subject: host?.id ?? 'local',
        target: {
          instanceId: null,
          name,
          label: `host ${name}`,
          url: null,
          organizationId: null,
          organizationName: 'the platform',
          path: '/settings',
        },
        details: {
          summary: `The disk holding Marina's data (${dataDir}) is ${Math.round(share)} % full: ${Math.round((disk.bavail * disk.bsize) / (1024 * MB))} GB free (alert at ${hostDiskPercent} %).`,
          percent: Math.round(share * 10) / 10,
          freeBytes: disk.bavail * disk.bsize,
          totalBytes: total,
        },
      },
    ];
  },
};
