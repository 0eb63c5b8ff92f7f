import type { Instance } from '../../../db/schema.js';
import type { JobMemory } from '../../../platform/jobs/define.js';
import type { Runtime } from '../../../runtime/port.js';
import type { BackupJobDeps } from './shared.js';
import { SWAP_STOP_SECONDS } from './undo-data.js';

type StopMemory = JobMemory<{ wasRunning: boolean; stopped: boolean }>;

/** The swap's downtime starts: Odoo is stopped (killed: see SWAP_STOP_SECONDS), remembering whether it ran. */
export async function stopForSwap(
  deps: BackupJobDeps,
  engine: Runtime,
  job: StopMemory,
  instance: Instance,
  why: string,
): Promise<Instance> {
  const state = await engine.state(instance.container_name);
  await job.remember('wasRunning', Boolean(state?.running));
  await job.remember('stopped', true);
  const stopped = await deps.instances.setStatus(instance.id, 'restoring', why);
  if (state?.running) await engine.stop(instance.container_name, SWAP_STOP_SECONDS);
  return stopped;
}

/**
 * After a failed swap job stopped the instance: running again if it ran before or its data was
 * swapped (then it is restored, not half), else stopped; what went wrong is its status detail.
 */
export async function bringBack(
  deps: BackupJobDeps,
  engine: Runtime,
  instance: Instance,
  outcome: { wasRunning: boolean; swapped: boolean; failure: string },
): Promise<void> {
  try {
    if ((outcome.wasRunning || outcome.swapped) && (await engine.state(instance.container_name))) {
      await engine.start(instance.container_name);
      await deps.instances.setStatus(instance.id, 'running', outcome.swapped ? null : outcome.failure.slice(0, 2000), {
        health: 'starting',
      });
    } else {
      await deps.instances.setStatus(instance.id, 'stopped', null, { started_at: null });
    }
  } catch (startError) {
    await deps.instances.setStatus(instance.id, 'exited', (startError as Error).message.slice(0, 2000));
  }
}
