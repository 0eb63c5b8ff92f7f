import { Type } from 'typebox';
import { sizeLimits } from '../../odoo/sizing.js';
import { DateTime } from '../../platform/http/schemas.js';
import { limits, patterns } from '../../platform/validation.js';

/**
 * The fields of a new instance, with their bounds from the one place they are kept (the service
 * checks the same numbers): the API document publishes them, the web UI reads them from there.
 */
export const InstanceName = Type.String({ minLength: 1, maxLength: limits.instanceName, pattern: patterns.slug });
export const InstanceCpus = Type.Number({
  minimum: sizeLimits.cpus.min,
  maximum: sizeLimits.cpus.max,
  multipleOf: 0.5,
});
export const InstanceMemoryMb = Type.Integer({ minimum: sizeLimits.memoryMb.min, maximum: sizeLimits.memoryMb.max });

export const Stage = Type.Union([Type.Literal('production'), Type.Literal('staging'), Type.Literal('development')]);

/**
 * Where an instance's administrator password comes from, so that Marina says what it knows:
 * `generated` at creation or `reset` by an admin (Marina knows it), or the users of a copy —
 * `copied` from another instance or its backup, `imported` from an uploaded file — that the
 * database keeps (Marina knows the password only when it checked that one it knew still opens it).
 */
export const CredentialsOrigin = Type.Object(
  {
    source: Type.Union([
      Type.Literal('generated'),
      Type.Literal('reset'),
      Type.Literal('copied'),
      Type.Literal('imported'),
    ]),
    /** The instance (`project/name`) or the file the users came from, for a copy. */
    from: Type.Union([Type.String(), Type.Null()]),
    /** When the users were taken: the clone's snapshot, the backup, the import; or the reset. */
    at: Type.Union([DateTime, Type.Null()]),
    /** Whether Marina knows a password that opens the database ("Reveal credentials" shows it). */
    passwordKnown: Type.Boolean(),
  },
  { title: 'CredentialsOrigin' },
);

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
    /** Its platform name under MARINA_BASE_DOMAIN (null when the edge is off). */
    hostname: Type.Union([Type.String(), Type.Null()]),
    /** Odoo's port published on its host; null when it is not (behind the edge, MARINA_INSTANCE_PUBLISH=none). */
    httpPort: Type.Union([Type.Integer(), Type.Null()]),
    cpus: Type.Number(),
    memoryMb: Type.Integer(),
    adminLogin: Type.String(),
    language: Type.String(),
    country: Type.Union([Type.String(), Type.Null()]),
    dbName: Type.String(),
    clonedFromId: Type.Union([Type.String(), Type.Null()]),
    credentialsOrigin: CredentialsOrigin,
    /**
     * The database and filestore the last restore or clone over this instance replaced, kept aside
     * until `until`: `POST /instances/{id}/undo-restore` swaps them back. Null when nothing is kept.
     */
    undo: Type.Union([Type.Object({ until: DateTime, operationId: Type.String() }), Type.Null()]),
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

/** What "Reveal credentials" and a reset answer: a password Marina does not know is null, never empty or stale. */
export const RevealedCredentials = Type.Object(
  {
    ...Credentials.properties,
    password: Type.Union([Type.String(), Type.Null()]),
    masterPassword: Type.String(),
    origin: CredentialsOrigin,
  },
  { title: 'RevealedCredentials' },
);

/** What an instance uses now; a figure Marina cannot read is null. */
export const InstanceStats = Type.Object({
  at: Type.String(),
  running: Type.Boolean(),
  cpuPercent: Type.Union([Type.Number(), Type.Null()]),
  memoryBytes: Type.Union([Type.Number(), Type.Null()]),
  memoryLimitBytes: Type.Union([Type.Number(), Type.Null()]),
  networkRxBytes: Type.Union([Type.Number(), Type.Null()]),
  networkTxBytes: Type.Union([Type.Number(), Type.Null()]),
  databaseBytes: Type.Union([Type.Number(), Type.Null()]),
  filestoreBytes: Type.Union([Type.Number(), Type.Null()]),
  uptimeSeconds: Type.Union([Type.Number(), Type.Null()]),
});

/** Something on a host that carries Marina's marks but belongs to nothing Marina knows. */
export const Orphan = Type.Object({
  kind: Type.Union([Type.Literal('container'), Type.Literal('volume'), Type.Literal('database')]),
  name: Type.String(),
  hostId: Type.String(),
  // The instance or server it was made for, from its labels, when known.
  madeFor: Type.Union([Type.String(), Type.Null()]),
  detail: Type.String(),
});

/** Orphans, known instances whose container vanished, and the hosts that could not be asked. */
export const ReconcileReport = Type.Object({
  orphans: Type.Array(Orphan),
  missing: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), containerName: Type.String() })),
  unreachableHosts: Type.Array(Type.String()),
});

export const LogLevel = Type.Union([
  Type.Literal('DEBUG'),
  Type.Literal('INFO'),
  Type.Literal('WARNING'),
  Type.Literal('ERROR'),
  Type.Literal('CRITICAL'),
]);

/** One Odoo log entry (a line and its continuation lines), as the instance and system logs answer it. */
export const LogEntry = Type.Object(
  {
    id: Type.String(),
    time: Type.Union([Type.String(), Type.Null()]),
    level: Type.Union([LogLevel, Type.Null()]),
    database: Type.Union([Type.String(), Type.Null()]),
    logger: Type.Union([Type.String(), Type.Null()]),
    message: Type.String(),
    continuation: Type.Array(Type.String()),
    truncated: Type.Integer(),
    plain: Type.Boolean(),
    http: Type.Union([
      Type.Object({
        remoteAddress: Type.String(),
        method: Type.String(),
        path: Type.String(),
        protocol: Type.String(),
        status: Type.Integer(),
        size: Type.Union([Type.Integer(), Type.Null()]),
        queryCount: Type.Union([Type.Integer(), Type.Null()]),
        sqlTimeMs: Type.Union([Type.Number(), Type.Null()]),
        otherTimeMs: Type.Union([Type.Number(), Type.Null()]),
        totalTimeMs: Type.Union([Type.Number(), Type.Null()]),
      }),
      Type.Null(),
    ]),
  },
  { title: 'LogEntry' },
);
