import { type TSchema, Type } from 'typebox';
import { limits, patterns } from '../validation.js';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable MARINA_E_… code' }),
      message: Type.String(),
      details: Type.Record(Type.String(), Type.Unknown()),
    }),
  },
  { title: 'Error' },
);

/** Adds the error shapes to a route's responses, so clients and the OpenAPI document know them. */
export function responses<T extends Record<number, TSchema>>(ok: T) {
  return { ...ok, '4xx': ErrorBody, '5xx': ErrorBody };
}

export const Email = Type.String({ maxLength: limits.email, pattern: patterns.email, description: 'Email address' });
export const Slug = Type.String({ minLength: 1, maxLength: limits.slug, pattern: patterns.slug });
export const Name = Type.String({ minLength: 1, maxLength: limits.name, pattern: patterns.label });
export const Password = Type.String({ minLength: 1, maxLength: limits.password.max });
export const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);
export const Uuid = Type.String({ pattern: patterns.uuid });
export const IdOrSlug = Type.String({ minLength: 1, maxLength: 40, pattern: `(${patterns.uuid})|(${patterns.slug})` });
export const DateTime = Type.String({ format: 'date-time' });

export const User = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.String(),
    isPlatformAdmin: Type.Boolean(),
    createdAt: DateTime,
  },
  { title: 'User' },
);

export const SessionStart = Type.Object({
  user: User,
  csrfToken: Type.String({ description: 'Send it back in the X-Marina-CSRF header on every write.' }),
  expiresAt: DateTime,
});

export const Organization = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    name: Type.String(),
    createdAt: DateTime,
    role: Type.Union([Role, Type.Null()]),
    memberCount: Type.Integer(),
  },
  { title: 'Organization' },
);

export const Member = Type.Object(
  {
    userId: Type.String(),
    email: Type.String(),
    name: Type.String(),
    role: Role,
    joinedAt: DateTime,
    disabled: Type.Boolean({ description: 'Disabled by a platform admin: cannot sign in' }),
  },
  { title: 'Member' },
);

export const ApiToken = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    prefix: Type.String(),
    createdAt: DateTime,
    lastUsedAt: Type.Union([DateTime, Type.Null()]),
    expiresAt: Type.Union([DateTime, Type.Null()]),
    revokedAt: Type.Union([DateTime, Type.Null()]),
    scope: Type.Union([Type.Literal('read'), Type.Literal('write')], {
      description: '`read`: the token can only send GET and HEAD requests',
    }),
    organization: Type.Union(
      [Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String() }), Type.Null()],
      {
        description: 'The one organization the token reaches, or null for everything its user may do',
      },
    ),
  },
  { title: 'ApiToken' },
);

export const AuditEvent = Type.Object(
  {
    id: Type.String(),
    at: DateTime,
    actor: Type.Object({ id: Type.Union([Type.String(), Type.Null()]), label: Type.String() }),
    organizationId: Type.Union([Type.String(), Type.Null()]),
    action: Type.String(),
    category: Type.String(),
    target: Type.Union([
      Type.Object({ type: Type.String(), id: Type.String(), label: Type.Union([Type.String(), Type.Null()]) }),
      Type.Null(),
    ]),
    details: Type.Record(Type.String(), Type.Unknown()),
    ip: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'AuditEvent' },
);

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
  },
  { title: 'Job' },
);

export const JobLogLine = Type.Object({
  id: Type.String(),
  at: DateTime,
  level: Type.String(),
  message: Type.String(),
});

export const Host = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    dockerHost: Type.String(),
    state: Type.String(),
    message: Type.Union([Type.String(), Type.Null()]),
    engineVersion: Type.Union([Type.String(), Type.Null()]),
    os: Type.Union([Type.String(), Type.Null()]),
    cpus: Type.Union([Type.Integer(), Type.Null()]),
    memoryBytes: Type.Union([Type.Number(), Type.Null()]),
    checkedAt: Type.Union([DateTime, Type.Null()]),
  },
  { title: 'Host' },
);

export const Project = Type.Object(
  {
    id: Type.String(),
    organizationId: Type.String(),
    name: Type.String(),
    displayName: Type.String(),
    odooVersion: Type.String(),
    createdAt: DateTime,
  },
  { title: 'Project' },
);

export const Stage = Type.Union([Type.Literal('production'), Type.Literal('staging'), Type.Literal('development')]);

export const Instance = Type.Object(
  {
    id: Type.String(),
    organizationId: Type.String(),
    projectId: Type.String(),
    name: Type.String(),
    stage: Stage,
    odooVersion: Type.String(),
    hostId: Type.String(),
    status: Type.String(),
    statusDetail: Type.Union([Type.String(), Type.Null()]),
    health: Type.Union([Type.String(), Type.Null()]),
    url: Type.Union([Type.String(), Type.Null()]),
    httpPort: Type.Union([Type.Integer(), Type.Null()]),
    cpus: Type.Number(),
    memoryMb: Type.Integer(),
    adminLogin: Type.String(),
    language: Type.String(),
    country: Type.Union([Type.String(), Type.Null()]),
    dbName: Type.String(),
    clonedFromId: Type.Union([Type.String(), Type.Null()]),
    startedAt: Type.Union([DateTime, Type.Null()]),
    createdAt: DateTime,
  },
  { title: 'Instance' },
);

export const Credentials = Type.Object({
  url: Type.Union([Type.String(), Type.Null()]),
  login: Type.String(),
  password: Type.String(),
});

export const BackupKind = Type.Union([Type.Literal('full'), Type.Literal('database'), Type.Literal('filestore')]);
export const BackupFormat = Type.Union([Type.Literal('zip'), Type.Literal('native')]);
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

/** A schema, or null. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

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
