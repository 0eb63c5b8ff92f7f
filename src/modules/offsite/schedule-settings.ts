import type { BackupFormat, BackupKind } from '../../db/schema.js';
import { invalid } from '../../platform/validation.js';
import { defaultRetention, type RetentionPolicy, validateRetention } from './retention.js';
import type { ScheduleSpec } from './schedule-time.js';

/** What an instance's retention keeps: locally, and at each destination the schedule copies to. */
export interface RetentionSettings {
  local: RetentionPolicy;
  /** Per destination id; a destination without an entry uses the local policy. */
  destinations: Record<string, RetentionPolicy>;
}

/** What an instance gets when its schedule is first opened: nightly at 02:00 UTC, the default retention. */
export const defaultSchedule = {
  enabled: false,
  spec: { kind: 'daily', time: '02:00', timeZone: 'UTC' } as ScheduleSpec,
  kind: 'full' as BackupKind,
  format: 'native' as BackupFormat,
  retention: { local: defaultRetention, destinations: {} } as RetentionSettings,
};

/** Where retention is applied: the local disk, or one destination. */
export type RetentionScope = { local: true } | { destinationId: string };

/** Counts left out of a policy are 0 ("keep 3 daily" needs no zeros spelled out). */
export function completePolicy(input: unknown): RetentionPolicy {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return validateRetention(input);
  return validateRetention({ last: 0, daily: 0, weekly: 0, monthly: 0, ...(input as Record<string, unknown>) });
}

export function validateRetentionSettings(input: unknown, destinationIds: readonly string[]): RetentionSettings {
  if (input === undefined) return { local: defaultRetention, destinations: {} };
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw invalid('retention', 'retention is { local: policy, destinations: { <id>: policy } }.');
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record))
    if (key !== 'local' && key !== 'destinations') throw invalid('retention', `retention has no "${key}".`);
  const local = record.local === undefined ? defaultRetention : completePolicy(record.local);
  const destinations: Record<string, RetentionPolicy> = {};
  const given = record.destinations ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw invalid('retention', 'retention.destinations maps destination ids to policies.');
  for (const [id, policy] of Object.entries(given)) {
    if (!destinationIds.includes(id))
      throw invalid('retention', `retention.destinations names ${id}, which the schedule does not copy to.`);
    destinations[id] = completePolicy(policy);
  }
  return { local, destinations };
}
