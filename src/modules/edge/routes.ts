import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RouteOptions } from '../../platform/http/route-options.js';

const Answer = Type.Object({ domain: Type.String(), routed: Type.Boolean() });

/**
 * The proxy's question before it asks a CA for a certificate (on-demand TLS): does Marina route
 * this name? Public (Caddy asks without credentials); it says no more than whether the name is
 * served, which anyone learns by visiting it.
 */
export const edgeRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/edge/ask',
    {
      config: { public: true },
      schema: {
        tags: ['edge'],
        summary: "The proxy's on-demand TLS check: 200 when Marina routes the name, else 404",
        querystring: Type.Object({
          domain: Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.-]+$' }),
        }),
        response: { 200: Answer, 404: Answer },
      },
    },
    async (request, reply) => {
      const { domain } = request.query;
      const route = await services.edge.lookup(domain);
      return reply.status(route ? 200 : 404).send({ domain, routed: route !== null });
    },
  );
};
