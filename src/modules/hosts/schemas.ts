import { Type } from 'typebox';
import { DateTime } from '../../platform/http/schemas.js';

/** The shape of a host in the API: the host service returns exactly this (`Static<typeof Host>`). */
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
