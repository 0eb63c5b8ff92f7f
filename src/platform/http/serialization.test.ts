import fastJson from 'fast-json-stringify';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { DateTime } from './schemas.js';
import { nullableAsTypeList } from './serialization.js';

const schema = Type.Object({
  at: Type.Union([DateTime, Type.Null()]),
  port: Type.Union([Type.Integer(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
  ratio: Type.Union([Type.Number(), Type.Null()]),
  known: Type.Union([Type.Boolean(), Type.Null()]),
  nested: Type.Union([Type.Object({ x: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  either: Type.Union([Type.String(), Type.Integer()]),
});

describe('nullable unions in response schemas', () => {
  it('writes one simple type or null as a type list, and leaves other unions alone', () => {
    const rewritten = nullableAsTypeList(schema) as { properties: Record<string, Record<string, unknown>> };
    expect(rewritten.properties.port).toEqual({ type: ['integer', 'null'] });
    expect(rewritten.properties.at).toMatchObject({ type: ['string', 'null'], format: 'date-time' });
    const nested = (rewritten.properties.nested?.anyOf ?? []) as Record<string, unknown>[];
    expect(nested).toHaveLength(2);
    expect(nested[0]).toMatchObject({
      properties: { x: { type: ['string', 'null'] } },
    });
    expect(rewritten.properties.either?.anyOf).toHaveLength(2);
  });

  it('serializes exactly as before, values and nulls, dates included', () => {
    const asAnyOf = fastJson(schema);
    const asTypeList = fastJson(nullableAsTypeList(schema) as object);
    for (const value of [
      {
        at: new Date(0),
        port: 8069,
        name: 'x',
        ratio: 0.5,
        known: false,
        nested: { x: 'y' },
        either: 3,
        extra: 'secret',
      },
      { at: null, port: null, name: null, ratio: null, known: null, nested: null, either: 'z' },
      { at: '2026-01-01T00:00:00.000Z', port: 0, name: '', ratio: 0, known: true, nested: { x: null }, either: '' },
    ])
      expect(asTypeList(value)).toBe(asAnyOf(value));
    const unknownProperty = {
      at: null,
      port: null,
      name: null,
      ratio: null,
      known: null,
      nested: null,
      either: 1,
      extra: 's',
    };
    const written = asTypeList(unknownProperty);
    expect(written).not.toContain('extra');
  });
});
