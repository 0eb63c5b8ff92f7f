import { Type } from 'typebox';
import { DateTime } from '../http/schemas.js';

/** The shape of an audit event in the API: the service returns exactly this (`Static<typeof AuditEvent>`). */
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
