import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { buildCatalog } from '../../odoo/versions.js';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses } from '../../platform/http/schemas.js';
import { LOCAL_HOST_ID } from '../hosts/hosts.js';
import { OdooVersionAvailability, OdooVersions } from './odoo-versions.js';

/** The versions of the host new instances go to (instances are created on the local host). */
export function odooVersionsOf({ services, config }: RouteOptions): OdooVersions {
  return new OdooVersions({
    catalog: buildCatalog(config.odoo),
    hostId: LOCAL_HOST_ID,
    runtime: () => services.hosts.reachableRuntime(LOCAL_HOST_ID),
  });
}

/** The Odoo versions Marina can run on the host new instances go to, and what is missing for the others. */
export const odooVersionRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  const versions = odooVersionsOf(options);

  app.get(
    '/odoo-versions',
    {
      schema: {
        tags: ['settings'],
        summary: 'The Odoo versions, each with whether its image is on the host new instances go to, and why not',
        response: responses({ 200: Type.Object({ versions: Type.Array(OdooVersionAvailability) }) }),
      },
    },
    async (request) => {
      contextOf(request);
      return { versions: await versions.list() };
    },
  );
};
