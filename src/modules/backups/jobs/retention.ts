import { MarinaError } from '../../../platform/errors.js';
import { defineJob } from '../../../platform/jobs/define.js';
import type { BackupJobDeps } from './shared.js';
import { retentionJob } from './specs.js';

/** "Clean up now": each instance's retention, locally and at its destinations. */
export function retentionHandler(deps: BackupJobDeps) {
  return defineJob({
    ...retentionJob,
    run: async (job) => {
      const schedules = deps.schedules;
      if (!schedules) throw new MarinaError('MARINA_E_INTERNAL', 'Retention is not available.');
      let removed = 0;
      await job.step('retention', async () => {
        const ids = job.input.instanceIds;
        for (const [index, id] of ids.entries()) {
          const result = await schedules.applyRetention(id, (message) => void job.log(message));
          removed += result.removed;
          await job.progress(((index + 1) / Math.max(1, ids.length)) * 100);
        }
      });
      await job.log(`Retention removed ${removed} file(s) or copies.`);
      return { removed };
    },
  });
}
