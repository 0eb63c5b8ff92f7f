import { type TSchema, Type } from 'typebox';
import { limits, patterns } from '../core/validation.js';

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
    pending: Type.Boolean(),
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
