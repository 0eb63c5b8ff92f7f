/**
 * Backup retention arithmetic (issue #6): which backups a policy keeps and which it deletes.
 * Pure on purpose: the preview in the UI and the job that really deletes run the very same
 * plan, so what the user was shown is exactly what happens. Applied separately to local
 * storage and to each destination by the caller.
 */
import { MarinaError } from '../../platform/errors.js';

export interface RetentionPolicy {
  last: number;
  daily: number;
  weekly: number;
  monthly: number;
}

export const defaultRetention: RetentionPolicy = { last: 0, daily: 7, weekly: 4, monthly: 3 };

export type RetentionBackupStatus = 'completed' | 'failed' | 'running' | 'pending';

export interface RetentionBackup {
  id: string;
  createdAt: Date;
  pinned: boolean;
  status: RetentionBackupStatus;
}

export interface RetentionPlan {
  keep: { id: string; reasons: string[] }[];
  delete: { id: string }[];
}

const POLICY_KEYS = ['last', 'daily', 'weekly', 'monthly'] as const;
const MAX_COUNT = 1000;

const invalid = (field: string, message: string): MarinaError =>
  new MarinaError('MARINA_E_VALIDATION', message, { field });

const describeValue = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'a list' : typeof value;
};

export function validateRetention(input: unknown): RetentionPolicy {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid('retention', 'The retention policy must be an object with last, daily, weekly and monthly.');
  }
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(POLICY_KEYS as readonly string[]).includes(key)) {
      throw invalid(key, `Unknown retention setting "${key}"; the settings are last, daily, weekly and monthly.`);
    }
  }
  const policy: RetentionPolicy = { last: 0, daily: 0, weekly: 0, monthly: 0 };
  for (const key of POLICY_KEYS) {
    const value = record[key];
    if (value === undefined) {
      throw invalid(key, `Retention "${key}" is missing; give a whole number from 0 to ${MAX_COUNT}.`);
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_COUNT) {
      throw invalid(
        key,
        `Retention "${key}" must be a whole number from 0 to ${MAX_COUNT} (got ${describeValue(value)}).`,
      );
    }
    // -0 passes the checks above; normalise so it never shows up in stored JSON or messages.
    policy[key] = value === 0 ? 0 : value;
  }
  if (POLICY_KEYS.every((key) => policy[key] === 0)) {
    throw invalid(
      'retention',
      'This retention policy keeps nothing and would delete every backup; keep at least one (for example daily: 7).',
    );
  }
  return policy;
}

interface LocalDate {
  year: number;
  month: number;
  day: number;
}

/** Days, weeks and months are the user's, not UTC's: a backup at 00:30 in Brussels belongs to that day. */
function localDateReader(timeZone: string): (at: Date) => LocalDate {
  let format: Intl.DateTimeFormat;
  try {
    // Gregorian calendar and Latin digits pinned so a locale default can never change the arithmetic.
    format = new Intl.DateTimeFormat('en-US-u-ca-gregory-nu-latn', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
    });
  } catch {
    throw invalid('timeZone', `"${timeZone}" is not a known IANA time zone (for example Europe/Brussels).`);
  }
  return (at) => {
    let year = 0;
    let month = 0;
    let day = 0;
    for (const part of format.formatToParts(at)) {
      if (part.type === 'year') year = Number(part.value);
      else if (part.type === 'month') month = Number(part.value);
      else if (part.type === 'day') day = Number(part.value);
    }
    return { year, month, day };
  };
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

const dayKey = (d: LocalDate): string => `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;
const monthKey = (d: LocalDate): string => `${pad(d.year, 4)}-${pad(d.month, 2)}`;

/**
 * ISO 8601 week of a calendar date (weeks start on Monday; week 1 holds January 4th). Computed
 * on the local calendar date, not on the instant, so the time zone and DST cannot shift it.
 * The week belongs to the year of its Thursday, which is why 2027-01-01 is in 2026-W53.
 */
function isoWeekKey(d: LocalDate): string {
  const DAY_MS = 86_400_000;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  date.setUTCFullYear(d.year, d.month - 1, d.day);
  const mondayBased = (date.getUTCDay() + 6) % 7;
  const thursday = new Date(date.getTime() + (3 - mondayBased) * DAY_MS);
  const weekYear = thursday.getUTCFullYear();
  const janFirst = new Date(0);
  janFirst.setUTCFullYear(weekYear, 0, 1);
  const week = Math.floor((thursday.getTime() - janFirst.getTime()) / DAY_MS / 7) + 1;
  return `${pad(weekYear, 4)}-W${pad(week, 2)}`;
}

interface Bucket {
  label: 'daily' | 'weekly' | 'monthly';
  left: number;
  previous: string | undefined;
  key: (d: LocalDate) => string;
}

/**
 * Grandfather-father-son retention exactly as restic's `forget` applies it (internal/restic/
 * snapshot_policy.go): walk the completed backups newest first; "last" keeps the first N; each
 * of daily/weekly/monthly keeps the first backup it sees of every new period until its count is
 * used up, so it keeps the newest backup of each of the N most recent periods that have one.
 * The rules are independent (a backup kept by one still counts for the others), which is what
 * makes raising any count never delete more and re-planning the kept set delete nothing.
 *
 * Deliberate choices:
 * - Pinned backups are always kept, like restic's --keep-tag. As in restic (its tag rule has no
 *   count, but tagged snapshots still go through the buckets), a pinned completed backup does fill
 *   the slot of its day/week/month: the period is already represented, keeping another copy of it
 *   would only cost space.
 * - Running and pending backups are neither counted nor deleted: they may still become the newest
 *   good backup, and deleting a file being written would break the job.
 * - Failed backups are always proposed for deletion unless pinned: they cannot be restored, so
 *   they must neither fill a slot nor be kept as if they protected anything.
 * - Restic ≥ 0.16 additionally keeps the oldest snapshot while counts are left; the issue asks for
 *   the classic rule, so that extension is not applied.
 *
 * The policy is validated again here because this plan drives real deletions: an all-zero policy
 * would delete every backup.
 */
export function planRetention(
  backups: readonly RetentionBackup[],
  policy: RetentionPolicy,
  timeZone: string,
): RetentionPlan {
  const checked = validateRetention(policy);
  const localDate = localDateReader(timeZone);

  const seen = new Set<string>();
  for (const backup of backups) {
    if (seen.has(backup.id)) {
      throw new MarinaError('MARINA_E_INTERNAL', `Backup ${backup.id} appears twice in the retention input.`, {
        id: backup.id,
      });
    }
    seen.add(backup.id);
    if (!(backup.createdAt instanceof Date) || Number.isNaN(backup.createdAt.getTime())) {
      throw new MarinaError('MARINA_E_INTERNAL', `Backup ${backup.id} has no valid creation time.`, {
        id: backup.id,
      });
    }
  }

  // Equal timestamps are ordered by id so the plan never depends on the order rows came from the database.
  const ordered = [...backups].sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );

  const buckets: Bucket[] = [
    { label: 'daily', left: checked.daily, previous: undefined, key: dayKey },
    { label: 'weekly', left: checked.weekly, previous: undefined, key: isoWeekKey },
    { label: 'monthly', left: checked.monthly, previous: undefined, key: monthKey },
  ];
  let lastLeft = checked.last;

  const plan: RetentionPlan = { keep: [], delete: [] };
  for (const backup of ordered) {
    const reasons: string[] = [];
    if (backup.pinned) reasons.push('pinned');
    if (backup.status === 'running' || backup.status === 'pending') reasons.push('in progress');
    if (backup.status === 'completed') {
      if (lastLeft > 0) {
        lastLeft--;
        reasons.push('last');
      }
      const date = localDate(backup.createdAt);
      for (const bucket of buckets) {
        if (bucket.left === 0) continue;
        const key = bucket.key(date);
        if (key === bucket.previous) continue;
        bucket.previous = key;
        bucket.left--;
        reasons.push(`${bucket.label} ${key}`);
      }
    }
    if (reasons.length > 0) plan.keep.push({ id: backup.id, reasons });
    else plan.delete.push({ id: backup.id });
  }
  return plan;
}
