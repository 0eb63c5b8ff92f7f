import { Type } from 'typebox';
import { DateTime, Nullable } from '../../platform/http/schemas.js';
import { importLimitBounds } from './import-limits.js';

/** The shapes of backups in the API: the services return exactly these (`Static<typeof …>`). */

export const BackupKind = Type.Union([Type.Literal('full'), Type.Literal('database'), Type.Literal('filestore')]);
export const BackupFormat = Type.Union([Type.Literal('zip'), Type.Literal('native')]);
/** What a download gives: the backup file as stored, or its database as a custom-format .dump. */
export const DownloadFormat = Type.Union([Type.Literal('file'), Type.Literal('dump')], {
  description:
    "file (the default): the backup as stored — an Odoo zip, or Marina's .tar.zst; dump: its database only, as the PostgreSQL custom-format .dump of Odoo's database manager",
});
export const BackupTrigger = Type.Union([
  Type.Literal('manual'),
  Type.Literal('schedule'),
  Type.Literal('pre-restore'),
  Type.Literal('pre-update'),
  Type.Literal('pre-delete'),
  Type.Literal('import'),
]);
export const BackupStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('completed'),
  Type.Literal('failed'),
]);

export const BackupCopy = Type.Object(
  {
    destinationId: Type.String(),
    destinationName: Type.String(),
    destinationKind: Type.String(),
    status: Type.Union([
      Type.Literal('pending'),
      Type.Literal('uploading'),
      Type.Literal('verified'),
      Type.Literal('failed'),
      Type.Literal('deleted'),
    ]),
    encrypted: Type.Boolean(),
    sizeBytes: Nullable(Type.Integer()),
    attempts: Type.Integer(),
    error: Nullable(Type.String()),
    verifiedAt: Nullable(DateTime),
  },
  { title: 'BackupCopy' },
);

export const BackupVerification = Type.Object(
  {
    status: Type.Union([Type.Literal('passed'), Type.Literal('failed')]),
    checkedAt: DateTime,
    modules: Nullable(Type.Integer()),
    durationMs: Type.Integer(),
    error: Nullable(Type.String()),
  },
  { title: 'BackupVerification' },
);

export const Backup = Type.Object(
  {
    id: Type.String(),
    organizationId: Type.String(),
    instanceId: Type.Union([Type.String(), Type.Null()]),
    instanceLabel: Type.String(),
    odooVersion: Type.String(),
    kind: BackupKind,
    format: BackupFormat,
    trigger: BackupTrigger,
    status: BackupStatus,
    sizeBytes: Type.Union([Type.Integer(), Type.Null()]),
    sha256: Type.Union([Type.String(), Type.Null()]),
    pinned: Type.Boolean(),
    error: Type.Union([Type.String(), Type.Null()]),
    jobId: Type.Union([Type.String(), Type.Null()]),
    createdBy: Type.String(),
    createdAt: DateTime,
    completedAt: Type.Union([DateTime, Type.Null()]),
    downloadName: Type.String(),
    localStatus: Type.Union([Type.Literal('present'), Type.Literal('deleted')]),
    copies: Type.Array(BackupCopy),
    verification: Nullable(BackupVerification),
    runState: Type.Union(
      [
        Type.Literal('pending'),
        Type.Literal('running'),
        Type.Literal('completed'),
        Type.Literal('partial'),
        Type.Literal('failed'),
      ],
      { description: 'One state for the run, from the backup and its copies: partial when a copy failed' },
    ),
  },
  { title: 'Backup' },
);

export const DatabaseInfo = Type.Object(
  {
    instanceId: Type.String(),
    sizeBytes: Type.Union([Type.Integer(), Type.Null()]),
    tables: Type.Union([Type.Integer(), Type.Null()]),
    filestoreBytes: Type.Union([Type.Integer(), Type.Null()]),
    lastBackup: Type.Union([Backup, Type.Null()]),
  },
  { title: 'DatabaseInfo' },
);

/** A backup in the history: its job's timing, and whether it or a copy failed. */
export const BackupRun = Type.Intersect(
  [
    Backup,
    Type.Object({
      startedAt: Nullable(DateTime),
      durationMs: Nullable(Type.Integer()),
      problem: Type.Boolean({ description: 'The backup or one of its copies failed' }),
    }),
  ],
  { title: 'BackupRun' },
);

/** What an imported archive may hold, platform-wide. */
export const ImportLimits = Type.Object(
  {
    maxUncompressedBytes: Type.Integer({
      minimum: importLimitBounds.maxUncompressedBytes.min,
      maximum: importLimitBounds.maxUncompressedBytes.max,
      description: 'The most an archive may inflate to, in bytes (default 20 GiB)',
    }),
    maxEntries: Type.Integer({
      minimum: importLimitBounds.maxEntries.min,
      maximum: importLimitBounds.maxEntries.max,
      description: 'The most files and folders an archive may hold',
    }),
    maxCompressionRatio: Type.Integer({
      minimum: importLimitBounds.maxCompressionRatio.min,
      maximum: importLimitBounds.maxCompressionRatio.max,
      description: 'The most an entry, or the archive, may inflate over its stored size (entries over 1 MiB)',
    }),
  },
  { title: 'ImportLimits' },
);
