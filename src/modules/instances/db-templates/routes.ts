import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePlatformAdmin } from '../../../platform/access.js';
import { MarinaError, notFound } from '../../../platform/errors.js';
import { contextOf } from '../../../platform/http/auth.js';
import type { RouteOptions } from '../../../platform/http/route-options.js';
import { responses } from '../../../platform/http/schemas.js';

const DatabaseTemplate = Type.Object({
  id: Type.String({ format: 'uuid' }),
  databaseServerId: Type.String(),
  hostId: Type.String(),
  database: Type.String(),
  status: Type.Union([Type.Literal('building'), Type.Literal('ready'), Type.Literal('failed')]),
  error: Type.Union([Type.String(), Type.Null()]),
  odooVersion: Type.String(),
  image: Type.String(),
  modules: Type.Array(Type.String()),
  language: Type.String(),
  demo: Type.Boolean(),
  uses: Type.Integer(),
  buildMs: Type.Union([Type.Integer(), Type.Null()]),
  bytes: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  readyAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

/** The template databases new instances are copied from (platform admins): what, where, how used. */
export const databaseTemplateRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/database-templates',
    {
      schema: {
        tags: ['hosts'],
        summary: 'Template databases new instances are copied from, per database server (platform admins)',
        response: responses({ 200: Type.Object({ templates: Type.Array(DatabaseTemplate) }) }),
      },
    },
    async (request) => {
      requirePlatformAdmin(contextOf(request).actor);
      const rows = await services.databaseTemplates.list();
      return {
        templates: rows.map((r) => ({
          id: r.id,
          databaseServerId: r.database_server_id,
          hostId: r.host_id,
          database: r.db_name,
          status: r.status,
          error: r.error,
          odooVersion: r.recipe.odooVersion,
          image: r.recipe.image,
          modules: r.recipe.modules,
          language: r.recipe.language,
          demo: r.recipe.demo,
          uses: r.uses,
          buildMs: r.build_ms,
          bytes: r.bytes === null ? null : Number(r.bytes),
          createdAt: r.created_at.toISOString(),
          readyAt: r.ready_at?.toISOString() ?? null,
          lastUsedAt: r.last_used_at?.toISOString() ?? null,
        })),
      };
    },
  );

  const WarmSettings = Type.Object(
    {
      versions: Type.Array(Type.String(), { maxItems: 10 }),
      templates: Type.Array(Type.String(), { maxItems: 50 }),
    },
    { additionalProperties: false },
  );
  app.get(
    '/database-templates/warm',
    {
      schema: {
        tags: ['hosts'],
        summary: 'The Odoo versions and templates whose template databases are built ahead (platform admins)',
        response: responses({ 200: WarmSettings }),
      },
    },
    async (request) => services.warmTemplates.settings(contextOf(request).actor),
  );
  app.put(
    '/database-templates/warm',
    {
      schema: {
        tags: ['hosts'],
        summary: 'Keep template databases built ahead for these Odoo versions and templates (platform admins)',
        body: WarmSettings,
        response: responses({ 200: WarmSettings }),
      },
    },
    async (request) => services.warmTemplates.save(contextOf(request), request.body),
  );

  app.delete(
    '/database-templates/:id',
    {
      schema: {
        tags: ['hosts'],
        summary: 'Drop a template database; the next instance of its recipe builds it again (platform admins)',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      const ctx = contextOf(request);
      requirePlatformAdmin(ctx.actor);
      const row = await services.databaseTemplates.get(request.params.id);
      if (!row) throw notFound('Template database');
      if (row.status === 'building')
        throw new MarinaError('MARINA_E_CONFLICT', 'The template is being built; drop it once it is ready.');
      await services.databaseTemplates.remove(row);
      await services.audit.record(ctx, {
        action: 'platform.remove_database_template',
        target: { type: 'platform', id: row.id, label: row.db_name },
        details: { database: row.db_name, modules: row.recipe.modules.join(',') },
      });
      return reply.code(204).send(null);
    },
  );
};
