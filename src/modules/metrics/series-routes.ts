import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { InstanceSeries, OrganizationStorageSeries, SeriesQuery } from './series-schemas.js';

/** Marina's own charts: an instance's figures and an organization's storage over time. */
export const seriesRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { seriesReader } = services;

  app.get(
    '/instances/:id/series',
    {
      schema: {
        tags: ['instances'],
        summary:
          'CPU, memory and its limit, requests per minute, response time p50/p95, database and filestore size over 24h (per minute), 7d or 30d (per hour)',
        params: Type.Object({ id: Uuid }),
        querystring: SeriesQuery,
        response: responses({ 200: InstanceSeries }),
      },
    },
    async (request) => seriesReader.instance(contextOf(request).actor, request.params.id, request.query.range ?? '24h'),
  );

  app.get(
    '/organizations/:id/storage-series',
    {
      schema: {
        tags: ['plans'],
        summary: "The organization's storage (databases and filestores) against its quota, per hour (members)",
        params: Type.Object({ id: Uuid }),
        querystring: SeriesQuery,
        response: responses({ 200: OrganizationStorageSeries }),
      },
    },
    async (request) =>
      seriesReader.organizationStorage(contextOf(request).actor, request.params.id, request.query.range ?? '24h'),
  );
};
