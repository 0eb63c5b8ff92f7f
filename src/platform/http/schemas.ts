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
/**
 * A password being chosen. Its minimum is checked by the password policy (which answers
 * MARINA_E_WEAK_PASSWORD), not by the schema: the extension keyword tells clients what it is.
 */
export const NewPassword = Type.String({
  minLength: 1,
  maxLength: limits.password.max,
  'x-marina-min-length': limits.password.min,
});
export const Uuid = Type.String({ pattern: patterns.uuid });
export const IdOrSlug = Type.String({ minLength: 1, maxLength: 40, pattern: `(${patterns.uuid})|(${patterns.slug})` });
export const DateTime = Type.String({ format: 'date-time' });

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

/** A schema, or null. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
