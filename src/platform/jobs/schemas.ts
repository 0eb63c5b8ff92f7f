import { Type } from 'typebox';
import { DateTime } from '../http/schemas.js';

/** The shapes of jobs in the API: the operation service returns exactly these (`Static<typeof …>`). */

export const JobStep = Type.Object({
  name: Type.String(),
  status: Type.Union([
    Type.Literal('pending'),
    Type.Literal('running'),
    Type.Literal('done'),
    Type.Literal('failed'),
    Type.Literal('skipped'),
  ]),
  startedAt: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
});

export const JobStatus = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
]);

export const Job = Type.Object(
  {
    id: Type.String(),
    kind: Type.String(),
    status: JobStatus,
    progress: Type.Integer(),
    step: Type.Union([Type.String(), Type.Null()]),
    steps: Type.Array(JobStep),
    target: Type.Union([
      Type.Object({ type: Type.String(), id: Type.String(), label: Type.Union([Type.String(), Type.Null()]) }),
      Type.Null(),
    ]),
    organizationId: Type.Union([Type.String(), Type.Null()]),
    hostId: Type.Union([Type.String(), Type.Null()]),
    result: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    error: Type.Union([
      Type.Object({ code: Type.String(), message: Type.String(), step: Type.Union([Type.String(), Type.Null()]) }),
      Type.Null(),
    ]),
    actor: Type.Object({ id: Type.Union([Type.String(), Type.Null()]), label: Type.String() }),
    createdAt: DateTime,
    startedAt: Type.Union([DateTime, Type.Null()]),
    finishedAt: Type.Union([DateTime, Type.Null()]),
    /** Set while the job waits to try again: until when, and what for. */
    waitingUntil: Type.Union([DateTime, Type.Null()]),
    waitingFor: Type.Union([Type.String(), Type.Null()]),
    /** The job this one repeats (queued again by "Retry"). */
    retryOf: Type.Union([Type.String(), Type.Null()]),
    /** What may be done with it now, by an admin of its organization (its kind decides). */
    can: Type.Object({
      cancel: Type.Boolean(),
      retry: Type.Boolean(),
    }),
    /** Whether it keeps other jobs (start, stop, restart, delete, backups…) off its target now. */
    holdsTarget: Type.Boolean(),
  },
  { title: 'Job' },
);

export const JobLogLine = Type.Object({
  id: Type.String(),
  at: DateTime,
  level: Type.String(),
  message: Type.String(),
});

/** Active jobs holding a target (an instance): every other job on it waits for them. */
export const JobHolds = Type.Object({
  /** The actions refused while any job holds the target. */
  blocks: Type.Array(Type.String()),
  jobs: Type.Array(Job),
});
