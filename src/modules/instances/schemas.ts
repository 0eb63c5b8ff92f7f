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
