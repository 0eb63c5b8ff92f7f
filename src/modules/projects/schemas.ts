import { Type } from 'typebox';
import { DateTime, Nullable } from '../../platform/http/schemas.js';
import { Instance } from '../instances/schemas.js';

export const Project = Type.Object(
  {
    id: Type.String(),
    organizationId: Type.String(),
    name: Type.String(),
    displayName: Type.String(),
    odooVersion: Type.String(),
    createdAt: DateTime,
    instanceCounts: Type.Optional(
      Type.Object(
        { production: Type.Integer(), staging: Type.Integer(), development: Type.Integer() },
        { description: 'How many instances each stage has; in the list of projects only' },
      ),
    ),
  },
  { title: 'Project' },
);

/**
 * The newest finished backup of an instance, as its project shows it: a run whose backup or one of
 * its offsite copies failed is a problem, whatever its own status says.
 */
export const LastBackup = Type.Object(
  {
    id: Type.String(),
    status: Type.Union([Type.Literal('completed'), Type.Literal('failed')]),
    trigger: Type.String(),
    createdAt: DateTime,
    completedAt: Nullable(DateTime),
    problem: Type.Boolean(),
  },
  { title: 'LastBackup' },
);

/** An instance in its project's column: the instance and its last backup. */
export const ProjectInstance = Type.Intersect([Instance, Type.Object({ lastBackup: Nullable(LastBackup) })], {
  title: 'ProjectInstance',
});

/** A project's instances by stage, as Odoo.sh shows them side by side; newest first in each. */
export const ProjectStages = Type.Object(
  {
    production: Type.Array(ProjectInstance),
    staging: Type.Array(ProjectInstance),
    development: Type.Array(ProjectInstance),
  },
  { title: 'ProjectStages' },
);
