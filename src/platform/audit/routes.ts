import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../http/auth.js';
import type { RouteOptions } from '../http/route-options.js';
import { DateTime, responses } from '../http/schemas.js';
import { patterns } from '../validation.js';
import { AuditActionName, AuditEvent, AuditVocabulary } from './schemas.js';
import { auditVocabularyView } from './vocabulary-view.js';

export const auditRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit trail, newest first, with filters and cursor pagination',
        querystring: Type.Object(
          {
            category: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}$' })),
            action: Type.Optional(AuditActionName),
            actor: Type.Optional(Type.String({ minLength: 1, maxLength: 254, pattern: patterns.label })),
            target: Type.Optional(Type.String({ minLength: 1, maxLength: 254, pattern: patterns.label })),
            organization: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
            from: Type.Optional(DateTime),
            to: Type.Optional(DateTime),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$' })),
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({ events: Type.Array(AuditEvent), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
        }),
      },
    },
    async (request) => {
      const ctx = contextOf(request);
      const q = request.query;
      const organizationId = q.organization
        ? (await services.organizations.resolve(ctx.actor, q.organization)).id
        : undefined;
      return services.audit.list(ctx.actor, {
        category: q.category,
        action: q.action,
        actor: q.actor,
        target: q.target,
        organizationId,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
        limit: q.limit ?? 50,
        before: q.cursor,
      });
    },
  );

  app.get(
    '/audit/categories',
    {
      schema: {
        tags: ['audit'],
        summary: 'The categories that occur in the audit trail (for filters)',
        response: responses({ 200: Type.Object({ categories: Type.Array(Type.String()) }) }),
      },
    },
    async () => ({ categories: await services.audit.categories() }),
  );

  app.get(
    '/audit/vocabulary',
    {
      schema: {
        tags: ['audit'],
        summary: 'Every action the audit trail records, by target type (docs/audit.md lists the same)',
        response: responses({ 200: AuditVocabulary }),
      },
    },
    async () => auditVocabularyView(),
  );
};
