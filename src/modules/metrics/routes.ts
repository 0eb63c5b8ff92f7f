import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { SESSION_COOKIE } from '../identity/auth.js';

/** `GET /metrics` for Prometheus, beside /healthz (not under /api/v1: scrapers expect it here). */
export const metricsRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/metrics',
    {
      // Not the session-or-token hook: only a metrics-scope token opens it (MetricsScrapes).
      config: { public: true },
      schema: {
        tags: ['metrics'],
        summary: 'Prometheus metrics (text format); needs an API token with the metrics scope',
        security: [{ bearer: [] }],
        querystring: Type.Object(
          {
            organization: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 100,
                pattern: '^[A-Za-z0-9-]+$',
                description: "An organization's id or slug: only its instances' series",
              }),
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { contentType, body } = await services.metricsScrapes.scrape({
        authorization: request.headers.authorization,
        hasSession: Boolean(request.cookies[SESSION_COOKIE]),
        organization: request.query.organization,
      });
      return reply.header('cache-control', 'no-store').type(contentType).send(body);
    },
  );
};
