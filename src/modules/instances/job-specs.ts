import { Type } from 'typebox';
import { jobSpec } from '../../platform/jobs/define.js';

/** Lifecycle jobs take everything from the instance they target. */
const NoInput = Type.Object({}, { additionalProperties: false });

export const provisionJob = jobSpec({
  kind: 'instance.provision',
  input: NoInput,
  plan: () => ['validate', 'database', 'volume', 'configure', 'initialize', 'start', 'health'],
});

/** Nothing happens before they start, and each may simply run again. */
const lifecycleControl = { cancel: 'queued', retry: true } as const;

export const startJob = jobSpec({
  kind: 'instance.start',
  input: NoInput,
  plan: () => ['start', 'health'],
  control: lifecycleControl,
});

export const restartJob = jobSpec({
  kind: 'instance.restart',
  input: NoInput,
  plan: () => ['restart', 'health'],
  control: lifecycleControl,
});

export const stopJob = jobSpec({
  kind: 'instance.stop',
  input: NoInput,
  plan: () => ['stop'],
  control: lifecycleControl,
});

export const deleteJob = jobSpec({
  kind: 'instance.delete',
  input: NoInput,
  plan: () => ['backup', 'container', 'volume', 'database'],
});

/** The jobs behind the start, stop and restart buttons. */
export const lifecycleJobs = { start: startJob, stop: stopJob, restart: restartJob } as const;
