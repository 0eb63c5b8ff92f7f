import type { Db } from '../../db/database.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { invalid } from '../../platform/validation.js';
import { saveSetting } from '../settings/setting-rows.js';
import { LIFECYCLE_SETTINGS_KEY, readLifecycleSettings } from './settings.js';

/** What a platform admin may change of the lifecycle settings, with the ranges the API accepts. */
export interface LifecycleSettingsInput {
  graceDays: number;
  finalBackupDays: number;
}

export const lifecycleSettingLimits = {
  graceDays: { min: 1, max: 365 },
  finalBackupDays: { min: 1, max: 3650 },
} as const;

export interface LifecycleSettingsServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

/**
 * The `lifecycle` settings row as the platform admin sees and changes it: the grace period of a
 * suspended customer and how long its final backups are kept. The trial reminders stay in the row
 * untouched (no screen changes them yet).
 */
export class LifecycleSettingsService {
  constructor(private readonly deps: LifecycleSettingsServiceDeps) {}

  async get(actor: Actor): Promise<LifecycleSettingsInput> {
    requirePlatformAdmin(actor);
    const { graceDays, finalBackupDays } = await readLifecycleSettings(this.deps.db);
    return { graceDays, finalBackupDays };
  }

  async set(ctx: RequestContext, input: LifecycleSettingsInput): Promise<LifecycleSettingsInput> {
    requirePlatformAdmin(ctx.actor);
    // The route's schema checks the same ranges; a caller inside Marina gets the same answer.
    for (const field of ['graceDays', 'finalBackupDays'] as const) {
      const { min, max } = lifecycleSettingLimits[field];
      const value = input[field];
      if (!Number.isInteger(value) || value < min || value > max)
        throw invalid(field, `${field} is a whole number of days from ${min} to ${max}.`);
    }
    const before = await readLifecycleSettings(this.deps.db);
    const changed = { graceDays: input.graceDays, finalBackupDays: input.finalBackupDays };
    await saveSetting(
      this.deps,
      ctx,
      LIFECYCLE_SETTINGS_KEY,
      { ...before, ...changed },
      {
        action: 'settings.update',
        target: { type: 'settings', id: LIFECYCLE_SETTINGS_KEY, label: 'Customer lifecycle' },
        details: {
          before: { graceDays: before.graceDays, finalBackupDays: before.finalBackupDays },
          after: changed,
        },
      },
    );
    return changed;
  }
}
