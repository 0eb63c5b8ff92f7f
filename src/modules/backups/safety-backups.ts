import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { SafetyBackupPolicy, safetyBackupPolicy } from '../instances/safety-backup.js';
import { Backup } from './schemas.js';

/** Deleted instances of a project whose safety backup is still kept: they can come back as new instances. */
export const deletedInstanceRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/projects/:id/deleted-instances',
    {
      schema: {
        tags: ['backups'],
        summary: 'Deleted instances of a project whose pre-delete safety backup is kept (restorable as new instances)',
        params: Type.Object({ id: Uuid }),
        response: responses({
          200: Type.Object({ policy: SafetyBackupPolicy, backups: Type.Array(Backup) }),
        }),
      },
    },
    async (request) => {
      const { actor } = contextOf(request);
      const project = await services.projects.get(actor, request.params.id);
      const kept = await services.backups.queries.list(actor, {
        organizationId: project.organization_id,
        trigger: 'pre-delete',
        status: 'completed',
      });
      // A backup keeps the label its instance had, `<project>/<instance>`; the instance row is gone.
      const prefix = `${project.name}/`;
      const backups = kept.filter(
        (b) =>
          b.instanceId === null &&
          b.localStatus === 'present' &&
          b.odooVersion === project.odoo_version &&
          b.instanceLabel.startsWith(prefix),
      );
      return { policy: safetyBackupPolicy, backups };
    },
  );
};
