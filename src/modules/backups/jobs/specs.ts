import { type Static, Type } from 'typebox';
import { jobSpec } from '../../../platform/jobs/define.js';
import { patterns } from '../../../platform/validation.js';

const Id = Type.String({ pattern: patterns.uuid });

export const CreateBackupInput = Type.Object(
  {
    backupId: Id,
    /** Offsite copies, made once the local file verifies. */
    destinationIds: Type.Array(Id),
    /** Scheduled runs apply the schedule's retention afterwards. */
    retention: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type CreateBackupInput = Static<typeof CreateBackupInput>;

/** A backup job: copies offsite and retention come after the local file verifies. */
export const createBackupJob = jobSpec({
  kind: 'backup.create',
  input: CreateBackupInput,
  plan: (input) => [
    'prepare',
    'write',
    'finish',
    ...(input.destinationIds.length > 0 ? (['upload'] as const) : []),
    ...(input.retention ? (['retention'] as const) : []),
  ],
  control: {
    // Queued: its recover fails the pending record. Waiting: an upload between attempts.
    cancel: 'waiting',
    // The upload reads the finished file and retention removes old files: the instance is free.
    freesTargetDuring: ['upload', 'retention'],
  },
});

export const verifyBackupJob = jobSpec({
  kind: 'backup.verify',
  input: Type.Object({ backupId: Id }, { additionalProperties: false }),
  plan: () => ['fetch', 'load', 'check', 'cleanup'],
  control: { cancel: 'queued', retry: true },
});

/**
 * "Download .dump": the backup's database loaded into a throwaway database, pg_dump'ed in custom
 * format beside the backup file, the throwaway database dropped. The instance is untouched.
 */
export const exportDumpJob = jobSpec({
  kind: 'backup.export_dump',
  input: Type.Object({ backupId: Id }, { additionalProperties: false }),
  plan: () => ['fetch', 'load', 'dump', 'cleanup'],
  control: { cancel: 'queued', retry: true },
});

export const retentionJob = jobSpec({
  kind: 'backup.retention',
  input: Type.Object({ instanceIds: Type.Array(Id) }, { additionalProperties: false }),
  plan: () => ['retention'],
  control: { cancel: 'queued', retry: true },
});

/** Decided when a restore or clone is queued; the plan and the job both follow them. */
const fillChoices = {
  /** Into an existing instance (what it replaces is kept as the undo), or into a new one (created). */
  existing: Type.Boolean(),
  /** The data becomes a copy with its own identity, not the instance itself brought back. */
  copy: Type.Boolean(),
  /** The copy is neutralized before Odoo starts: no mail, no crons. */
  neutralize: Type.Boolean(),
};

export const RestoreInput = Type.Object({ backupId: Id, ...fillChoices }, { additionalProperties: false });
export type RestoreInput = Static<typeof RestoreInput>;

export const CloneInput = Type.Object(
  { sourceId: Id, filestore: Type.Boolean(), ...fillChoices },
  { additionalProperties: false },
);
export type CloneInput = Static<typeof CloneInput>;

export type FillChoices = Pick<RestoreInput, 'existing' | 'copy' | 'neutralize'>;

/** Every step a restore or clone may take, in their order. */
export type FillStep =
  | 'verify'
  | 'stop'
  | 'safety-backup'
  | 'create'
  | 'load'
  | 'swap'
  | 'neutralize'
  | 'start'
  | 'health'
  | 'cleanup';

/**
 * A restore or clone into an instance: loaded beside the live data (an existing instance keeps
 * serving), neutralized there if asked, then an existing instance is stopped for the swap only.
 */
const fillPlan = (input: FillChoices, verify: boolean): FillStep[] => [
  ...(verify ? (['verify'] as const) : []),
  ...(input.existing ? [] : (['create'] as const)),
  'load',
  ...(input.neutralize ? (['neutralize'] as const) : []),
  ...(input.existing ? (['stop'] as const) : []),
  'swap',
  'start',
  'health',
  // What the swap put aside becomes the undo (a new instance's empty database goes): not downtime.
  'cleanup',
];

/** A restore verifies the backup file first; a clone reads a live instance. */
export const restoreJob = jobSpec({
  kind: 'backup.restore',
  input: RestoreInput,
  plan: (input): FillStep[] => fillPlan(input, true),
});

export const cloneJob = jobSpec({
  kind: 'instance.clone',
  input: CloneInput,
  plan: (input): FillStep[] => fillPlan(input, false),
});

/** Swaps back what the last restore or clone over an instance replaced; what it swaps out becomes the undo. */
export const undoRestoreJob = jobSpec({
  kind: 'instance.undo_restore',
  input: Type.Object({}, { additionalProperties: false }),
  plan: () => ['stage', 'stop', 'swap', 'start', 'health', 'keep'],
});

/** Deletes an undo whose time is up (queued by the expiry round). */
export const expireUndoJob = jobSpec({
  kind: 'instance.expire_undo',
  input: Type.Object({}, { additionalProperties: false }),
  plan: () => ['delete'],
  control: { cancel: 'queued', retry: true },
});

export const MoveInput = Type.Object(
  { to: Type.String({ pattern: patterns.nodeName }) },
  { additionalProperties: false },
);

export type MoveStep = 'prepare' | 'copy' | 'stop' | 'sync' | 'switch' | 'start' | 'health' | 'cleanup';

/**
 * Moves an instance to another host of the cluster: the filestore is copied while it serves; the
 * downtime is the stop, the database copy, what changed in the filestore, and the start there.
 */
export const moveJob = jobSpec({
  kind: 'instance.move',
  input: MoveInput,
  plan: (): MoveStep[] => ['prepare', 'copy', 'stop', 'sync', 'switch', 'start', 'health', 'cleanup'],
});
