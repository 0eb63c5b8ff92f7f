import { limits } from '../../api/limits';
import type { BackupFormat, BackupKind, RetentionPolicy, Schedule, ScheduleInput, ScheduleSpec } from '../../api/types';

export type Preset = ScheduleSpec['kind'];
export const presets: Preset[] = ['daily', 'weekly', 'monthly', 'cron'];
export const presetLabel: Record<Preset, string> = {
  daily: 'Daily',
  weekly: 'Weekly',
  monthly: 'Monthly',
  cron: 'Cron',
};
export const presetHint: Record<Preset, string> = {
  daily: 'Every day at a time',
  weekly: 'One day of the week',
  monthly: 'One day of the month',
  cron: 'A five-field expression',
};

export const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

export const policyKeys = ['last', 'daily', 'weekly', 'monthly'] as const;
export type PolicyKey = (typeof policyKeys)[number];
export const policyLabel: Record<PolicyKey, string> = {
  last: 'Last',
  daily: 'Daily',
  weekly: 'Weekly',
  monthly: 'Monthly',
};
export const policyHint: Record<PolicyKey, string> = {
  last: 'The newest N backups, whatever their age',
  daily: 'The newest backup of each of the last N days',
  weekly: 'The newest backup of each of the last N weeks',
  monthly: 'The newest backup of each of the last N months',
};

/** Input values: text, so a field can be empty while it is edited (empty counts as 0). */
export type PolicyDraft = Record<PolicyKey, string>;

export const defaultPolicy: RetentionPolicy = { last: 0, daily: 7, weekly: 4, monthly: 3 };

export interface Draft {
  enabled: boolean;
  preset: Preset;
  time: string;
  weekday: number;
  day: number;
  expression: string;
  timeZone: string;
  kind: BackupKind;
  format: BackupFormat;
  destinationIds: string[];
  local: PolicyDraft;
  /** A destination's own policy; absent: the same as on this server. */
  own: Record<string, PolicyDraft>;
  verify: boolean;
  verifyDays: string;
}

export const browserTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** IANA zones for the select: UTC first, then the browser's list, with the current one never missing. */
export function timeZones(current: string): string[] {
  let all: string[] = [];
  try {
    all = Intl.supportedValuesOf('timeZone');
  } catch {
    all = [];
  }
  const zones = new Set(['UTC', ...all]);
  zones.add(current);
  zones.add(browserTimeZone());
  return ['UTC', ...[...zones].filter((z) => z !== 'UTC').sort()];
}

export const draftPolicy = (p: RetentionPolicy): PolicyDraft => ({
  last: String(p.last),
  daily: String(p.daily),
  weekly: String(p.weekly),
  monthly: String(p.monthly),
});

export function policyOf(d: PolicyDraft): RetentionPolicy {
  const n = (v: string) => {
    const value = Number.parseInt(v, 10);
    return Number.isFinite(value) && value > 0 ? value : 0;
  };
  return { last: n(d.last), daily: n(d.daily), weekly: n(d.weekly), monthly: n(d.monthly) };
}

export const samePolicy = (a: RetentionPolicy, b: RetentionPolicy): boolean => policyKeys.every((k) => a[k] === b[k]);

/** "last 3 · 7 daily · 4 weekly · 3 monthly", without the zeros. */
export function describePolicy(p: RetentionPolicy): string {
  const parts = [
    p.last ? `last ${p.last}` : '',
    p.daily ? `${p.daily} daily` : '',
    p.weekly ? `${p.weekly} weekly` : '',
    p.monthly ? `${p.monthly} monthly` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : 'nothing';
}

export function initialDraft(schedule: Schedule | null): Draft {
  if (!schedule) {
    return {
      enabled: true,
      preset: 'daily',
      time: '02:00',
      weekday: 7,
      day: 1,
      expression: '0 2 * * *',
      timeZone: browserTimeZone(),
      kind: 'full',
      format: 'native',
      destinationIds: [],
      local: draftPolicy(defaultPolicy),
      own: {},
      verify: false,
      verifyDays: '7',
    };
  }
  const spec = schedule.spec;
  const own: Record<string, PolicyDraft> = {};
  for (const [id, policy] of Object.entries(schedule.retention.destinations)) {
    if (!samePolicy(policy, schedule.retention.local)) own[id] = draftPolicy(policy);
  }
  return {
    enabled: schedule.enabled,
    preset: spec.kind,
    time: spec.time ?? '02:00',
    weekday: spec.weekday ?? 7,
    day: spec.day ?? 1,
    expression: spec.expression ?? '0 2 * * *',
    timeZone: spec.timeZone,
    kind: schedule.kind,
    format: schedule.format,
    destinationIds: schedule.destinationIds,
    local: draftPolicy(schedule.retention.local),
    own,
    verify: schedule.verifyEveryDays !== null,
    verifyDays: String(schedule.verifyEveryDays ?? 7),
  };
}

export function specOf(d: Draft): ScheduleSpec {
  switch (d.preset) {
    case 'daily':
      return { kind: 'daily', time: d.time, timeZone: d.timeZone };
    case 'weekly':
      return { kind: 'weekly', weekday: d.weekday, time: d.time, timeZone: d.timeZone };
    case 'monthly':
      return { kind: 'monthly', day: d.day, time: d.time, timeZone: d.timeZone };
    case 'cron':
      return { kind: 'cron', expression: d.expression.trim(), timeZone: d.timeZone };
  }
}

/** The policy a destination gets: its own, or the one of this server. */
export const destinationPolicy = (d: Draft, id: string): RetentionPolicy => policyOf(d.own[id] ?? d.local);

export function bodyOf(d: Draft): ScheduleInput {
  const local = policyOf(d.local);
  const destinations: Record<string, RetentionPolicy> = {};
  for (const id of d.destinationIds) destinations[id] = destinationPolicy(d, id);
  return {
    enabled: d.enabled,
    spec: specOf(d),
    kind: d.kind,
    format: d.format,
    destinationIds: d.destinationIds,
    retention: { local, destinations },
    verifyEveryDays: d.verify
      ? Math.min(
          limits.verifyEveryDays.max,
          Math.max(limits.verifyEveryDays.min, Number.parseInt(d.verifyDays, 10) || 7),
        )
      : null,
  };
}
