import { Type } from 'typebox';
import { DateTime, Nullable } from '../../platform/http/schemas.js';
import { Backup, BackupFormat, BackupKind } from '../backups/schemas.js';

/** The shapes of destinations and schedules in the API; the services return exactly these. */

export const S3Settings = Type.Object({
  endpoint: Nullable(Type.String()),
  region: Type.String(),
  bucket: Type.String(),
  prefix: Type.String(),
  forcePathStyle: Type.Boolean(),
  accessKeyId: Type.String(),
});

export const SftpSettings = Type.Object({
  host: Type.String(),
  port: Type.Integer(),
  username: Type.String(),
  folder: Type.String(),
  hostKeyFingerprint: Nullable(Type.String()),
});

/** The outcome of a destination's last connection test (on save, on "Test connection"). */
export const DestinationHealth = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('failed'), Type.Literal('untested')]),
    testedAt: Nullable(DateTime),
    error: Nullable(Type.String()),
  },
  { title: 'DestinationHealth' },
);

export const Destination = Type.Object(
  {
    id: Type.String(),
    organizationId: Nullable(Type.String()),
    name: Type.String(),
    kind: Type.Union([Type.Literal('s3'), Type.Literal('sftp')]),
    s3: Nullable(S3Settings),
    sftp: Nullable(SftpSettings),
    encrypted: Type.Boolean(),
    secretsSet: Type.Array(Type.String(), { description: 'Names of the stored secrets; never their values' }),
    createdBy: Type.String(),
    createdAt: DateTime,
    copies: Type.Integer(),
    bytes: Type.Integer(),
    health: DestinationHealth,
  },
  { title: 'Destination' },
);

export const ProbeResult = Type.Object(
  {
    ok: Type.Boolean(),
    steps: Type.Array(
      Type.Object({
        step: Type.String(),
        ok: Type.Boolean(),
        ms: Type.Number(),
      }),
    ),
    error: Nullable(Type.Object({ reason: Type.String(), message: Type.String() })),
    hostKeyFingerprint: Nullable(Type.String()),
    pinned: Type.Boolean({ description: 'The host key was seen for the first time and is now pinned' }),
  },
  { title: 'DestinationTest' },
);

export const FullPolicy = Type.Object({
  last: Type.Integer(),
  daily: Type.Integer(),
  weekly: Type.Integer(),
  monthly: Type.Integer(),
});

export const Spec = Type.Object(
  {
    kind: Type.Union([Type.Literal('daily'), Type.Literal('weekly'), Type.Literal('monthly'), Type.Literal('cron')]),
    time: Type.Optional(Type.String({ description: 'HH:MM, for daily, weekly and monthly' })),
    weekday: Type.Optional(Type.Integer({ minimum: 1, maximum: 7, description: 'ISO weekday, 1 = Monday' })),
    day: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 31, description: 'Day of month; 29–31 mean the last day in shorter months' }),
    ),
    expression: Type.Optional(Type.String({ maxLength: 100, description: 'Five-field cron expression' })),
    timeZone: Type.String({ maxLength: 64, description: 'IANA time zone, e.g. Europe/Brussels' }),
  },
  { title: 'ScheduleSpec' },
);

/** The schedule's last run, in the one state derived from its backup and copies (run-state.ts). */
export const ScheduleLastRun = Type.Object(
  {
    backupId: Type.String(),
    jobId: Nullable(Type.String()),
    state: Type.Union([
      Type.Literal('pending'),
      Type.Literal('running'),
      Type.Literal('completed'),
      Type.Literal('partial'),
      Type.Literal('failed'),
    ]),
    error: Nullable(Type.String({ description: 'Why the backup or its first failed copy failed' })),
    failedCopies: Type.Array(Type.Object({ destinationId: Type.String(), destinationName: Type.String() })),
  },
  { title: 'ScheduleLastRun' },
);

export const Schedule = Type.Object(
  {
    instanceId: Type.String(),
    enabled: Type.Boolean(),
    spec: Spec,
    description: Type.String(),
    kind: BackupKind,
    format: BackupFormat,
    destinationIds: Type.Array(Type.String()),
    retention: Type.Object({ local: FullPolicy, destinations: Type.Record(Type.String(), FullPolicy) }),
    verifyEveryDays: Nullable(Type.Integer()),
    nextRunAt: Nullable(DateTime),
    lastRunAt: Nullable(DateTime),
    lastJobId: Nullable(Type.String()),
    lastVerifiedAt: Nullable(DateTime),
    lastRun: Nullable(ScheduleLastRun),
    destinationWarnings: Type.Array(
      Type.Object({ destinationId: Type.String(), name: Type.String(), health: DestinationHealth }),
      { description: 'Destinations of this schedule whose last connection test failed' },
    ),
    updatedBy: Type.String(),
    updatedAt: DateTime,
  },
  { title: 'Schedule' },
);

/** What a retention policy would keep (and why) and delete of an instance's scheduled backups. */
export const RetentionPreview = Type.Object({
  keep: Type.Array(Type.Object({ backup: Backup, reasons: Type.Array(Type.String()) })),
  delete: Type.Array(Backup),
});
