import type { FieldReader } from './config-edge.js';
import { integer } from './config-parse.js';

/** Self-service settings (plans, usage, the subscription lifecycle); split from config.ts. */
export interface SelfServiceConfig {
  /** How often the lifecycle ticker looks for due trial reminders, trial ends and grace ends. */
  lifecycleIntervalMs: number;
  /** How often every instance's storage (database + filestore) is measured. */
  usageIntervalMs: number;
}

export const selfServiceFields = {
  lifecycleIntervalSeconds: {
    env: 'MARINA_LIFECYCLE_INTERVAL_S',
    describe: 'an integer from 5 to 3600 (seconds)',
    parse: integer(5, 3600),
  },
  usageIntervalMinutes: {
    env: 'MARINA_USAGE_INTERVAL_MINUTES',
    describe: 'an integer from 1 to 1440 (minutes)',
    parse: integer(1, 1440),
  },
};

export function readSelfServiceConfig(read: FieldReader): SelfServiceConfig {
  return {
    lifecycleIntervalMs: read(selfServiceFields.lifecycleIntervalSeconds, 60) * 1000,
    usageIntervalMs: read(selfServiceFields.usageIntervalMinutes, 60) * 60_000,
  };
}
