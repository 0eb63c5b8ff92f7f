import { Type } from 'typebox';
import { DateTime } from '../http/schemas.js';
import { type AuditAction, type AuditTargetType, auditActions, auditVocabulary } from './vocabulary.js';

/** One action of the vocabulary (`src/platform/audit/vocabulary.ts`). */
export const AuditActionName = Type.Unsafe<AuditAction>({
  type: 'string',
  enum: auditActions().map((a) => a.action),
  title: 'AuditAction',
});

/** One target type of the vocabulary. */
export const AuditTargetTypeName = Type.Unsafe<AuditTargetType>({
  type: 'string',
  enum: Object.keys(auditVocabulary),
  title: 'AuditTargetType',
});

/** The vocabulary as the API answers it: each target type with its actions. */
export const AuditVocabulary = Type.Object(
  {
    targets: Type.Array(
      Type.Object({
        type: AuditTargetTypeName,
        describe: Type.String(),
        label: Type.String(),
        actions: Type.Array(Type.Object({ action: AuditActionName, describe: Type.String() })),
      }),
    ),
  },
  { title: 'AuditVocabulary' },
);

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
