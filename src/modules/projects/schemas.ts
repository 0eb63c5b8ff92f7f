import { Type } from 'typebox';
import { DateTime } from '../../platform/http/schemas.js';

export const Project = Type.Object(
  {
    id: Type.String(),
    organizationId: Type.String(),
    name: Type.String(),
    displayName: Type.String(),
    odooVersion: Type.String(),
    createdAt: DateTime,
  },
  { title: 'Project' },
);
