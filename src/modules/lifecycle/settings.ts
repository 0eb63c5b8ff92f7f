import type { Db } from '../../db/database.js';

/** The platform's lifecycle settings (the `settings` row `lifecycle`; defaults when absent). */
export interface LifecycleSettings {
  /** Days a suspended organization keeps its instances before they are deleted. */
  graceDays: number;
  /** Days the final (pre-delete) backups of a cancelled organization are kept. */
  finalBackupDays: number;
  /** Trial reminders, in days before the trial's end. */
  reminderDays: number[];
}

export const LIFECYCLE_SETTINGS_KEY = 'lifecycle';

export const defaultLifecycleSettings: LifecycleSettings = {
  graceDays: 30,
  finalBackupDays: 90,
  reminderDays: [7, 3, 1],
};

const wholeDays = (value: unknown, min: number, max: number): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : undefined;

/** Reads the row; a value out of range falls back to its default rather than stopping the ticker. */
export async function readLifecycleSettings(db: Db): Promise<LifecycleSettings> {
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', LIFECYCLE_SETTINGS_KEY)
    .executeTakeFirst();
  const stored = (row?.value ?? {}) as Record<string, unknown>;
  const reminders = Array.isArray(stored.reminderDays)
    ? stored.reminderDays.map((d) => wholeDays(d, 1, 365)).filter((d): d is number => d !== undefined)
    : undefined;
  return {
    graceDays: wholeDays(stored.graceDays, 0, 3650) ?? defaultLifecycleSettings.graceDays,
    finalBackupDays: wholeDays(stored.finalBackupDays, 1, 3650) ?? defaultLifecycleSettings.finalBackupDays,
    reminderDays: reminders && reminders.length > 0 ? reminders : defaultLifecycleSettings.reminderDays,
  };
}
