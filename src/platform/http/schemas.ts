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

/** A schema, or null. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
