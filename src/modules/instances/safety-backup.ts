import { type Static, Type } from 'typebox';

/**
 * What Marina keeps of a deleted instance, said the same way by the delete's answer and by the
 * list of deleted instances: the safety backup the delete job takes first (database and filestore,
 * Marina's native format), in this server's backup folder, which no retention removes.
 */
export const SafetyBackupPolicy = Type.Object(
  {
    contents: Type.String(),
    where: Type.String(),
    /** Null: kept until someone deletes it (retention only removes scheduled backups). */
    keptUntil: Type.Union([Type.String(), Type.Null()]),
    kept: Type.String(),
  },
  { title: 'SafetyBackupPolicy' },
);

export const safetyBackupPolicy: Static<typeof SafetyBackupPolicy> = {
  contents: 'the database and the filestore',
  where: 'on the Marina server, in its local backup storage',
  keptUntil: null,
  kept: 'until someone deletes it (retention only removes scheduled backups)',
};
