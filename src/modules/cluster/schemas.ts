import { Type } from 'typebox';
import { DateTime } from '../../platform/http/schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** A host as a node of the cluster (the engine Marina started on is `standalone`, outside it). */
export const Node = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    dockerHost: Type.String(),
    address: Nullable(Type.String()),
    role: Type.Union([
      Type.Literal('standalone'),
      Type.Literal('joining'),
      Type.Literal('manager'),
      Type.Literal('worker'),
      Type.Literal('leaving'),
    ]),
    /** Whether Marina reaches the engine. */
    state: Type.String(),
    /** Swarm's state of the node; null outside the cluster. */
    nodeState: Nullable(Type.String()),
    nodeStateSince: Nullable(DateTime),
    availability: Nullable(Type.String()),
    managerReachability: Nullable(Type.String()),
    engineVersion: Nullable(Type.String()),
    cpus: Nullable(Type.Integer()),
    memoryBytes: Nullable(Type.Number()),
    /** What the instances on it are guaranteed: the sum of their limits. */
    guaranteedMemoryBytes: Type.Number(),
    guaranteedCpus: Type.Number(),
    instances: Type.Integer(),
    dedicatedTo: Type.Array(Type.String()),
  },
  { title: 'Node' },
);

const Pem = Type.String({ minLength: 1, maxLength: 65_536 });

export const AddNodeBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 40 }),
    dockerHost: Type.String({ minLength: 1, maxLength: 300 }),
    tls: Type.Optional(Type.Object({ ca: Pem, cert: Pem, key: Pem }, { additionalProperties: false })),
    ssh: Type.Optional(
      Type.Object(
        {
          privateKey: Pem,
          hostKeyFingerprint: Type.String({ minLength: 1, maxLength: 100, description: 'SHA256:… (ssh-keygen -lf)' }),
        },
        { additionalProperties: false },
      ),
    ),
    address: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    role: Type.Optional(Type.Union([Type.Literal('manager'), Type.Literal('worker')])),
    dedicatedTo: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { maxItems: 20 })),
  },
  { additionalProperties: false },
);

export const PlacementQuery = Type.Object(
  {
    memoryMb: Type.Integer({ minimum: 64, maximum: 1_048_576 }),
    cpus: Type.Number({ exclusiveMinimum: 0, maximum: 256 }),
    organization: Type.String({ format: 'uuid' }),
    stage: Type.Union([Type.Literal('production'), Type.Literal('staging'), Type.Literal('development')]),
    plan: Type.Optional(Type.String({ maxLength: 63 })),
  },
  { additionalProperties: false },
);

export const Placement = Type.Object(
  {
    ok: Type.Boolean(),
    hostId: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
    rejected: Type.Optional(
      Type.Array(Type.Object({ hostId: Type.String(), name: Type.String(), reason: Type.String() })),
    ),
  },
  { title: 'Placement' },
);
