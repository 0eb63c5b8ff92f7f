import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Destination, Schedule } from '../../db/schema.js';
import type { BackupQueries } from '../backups/queries.js';
import type { DestinationHealth, ScheduleLastRun } from './schemas.js';

export type DestinationHealthView = Static<typeof DestinationHealth>;
export type ScheduleLastRunView = Static<typeof ScheduleLastRun>;

/** A destination's health, from its last connection test. */
export function healthOf(d: Destination): DestinationHealthView {
  return {
    status: d.last_test_ok === null ? 'untested' : d.last_test_ok ? 'ok' : 'failed',
    testedAt: d.last_tested_at?.toISOString() ?? null,
    error: d.last_test_error,
  };
}

/** What a schedule's card tells beside its settings: how its last run went, and which destinations failed their test. */
export interface ScheduleStatus {
  lastRun: ScheduleLastRunView | null;
  destinationWarnings: { destinationId: string; name: string; health: DestinationHealthView }[];
}

export async function scheduleStatus(db: Db, queries: BackupQueries, s: Schedule): Promise<ScheduleStatus> {
  let lastRun: ScheduleLastRunView | null = null;
  if (s.last_operation_id) {
    const backup = await db
      .selectFrom('backups')
      .selectAll()
      .where('operation_id', '=', s.last_operation_id)
      .executeTakeFirst();
    const [view] = backup ? await queries.views([backup]) : [];
    if (view) {
      const failed = view.copies.filter((c) => c.status === 'failed');
      const copyError = failed[0]
        ? `The copy to "${failed[0].destinationName}" failed: ${failed[0].error ?? 'no reason given'}`
        : null;
      lastRun = {
        backupId: view.id,
        jobId: view.jobId,
        state: view.runState,
        error: view.error ?? copyError,
        failedCopies: failed.map((c) => ({ destinationId: c.destinationId, destinationName: c.destinationName })),
      };
    }
  }
  const ids = s.destination_ids;
  const rows =
    ids.length === 0
      ? []
      : await db
          .selectFrom('destinations')
          .selectAll()
          .where('id', 'in', [...ids])
          .orderBy('name')
          .execute();
  const destinationWarnings = rows
    .map((d) => ({ destinationId: d.id, name: d.name, health: healthOf(d) }))
    .filter((w) => w.health.status === 'failed');
  return { lastRun, destinationWarnings };
}
