import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { Nullable, responses, Uuid } from '../../platform/http/schemas.js';
import { NewOdooTemplateBody, OdooTemplate, OdooTemplatePatchBody, PublicOdooTemplate } from './schemas.js';

const tags = ['odoo-templates'];

/** Odoo templates: platform admins define them; members see the usable ones for the instance form. */
export const templateRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { templates } = services;

  app.get(
    '/odoo-templates',
    {
      schema: {
        tags,
        summary: 'The Odoo templates (platform admins); archived ones only when asked',
        querystring: Type.Object({ archived: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ templates: Type.Array(OdooTemplate) }) }),
      },
    },
    async (request) => ({
      templates: await templates.list(contextOf(request), { archived: request.query.archived ?? false }),
    }),
  );

  app.get(
    '/odoo-templates/usable',
    {
      schema: {
        tags,
        summary: 'The templates anyone signed in may make an instance with (public, not archived)',
        response: responses({ 200: Type.Object({ templates: Type.Array(PublicOdooTemplate) }) }),
      },
    },
    async () => ({ templates: await templates.publicList() }),
  );

  app.post(
    '/odoo-templates',
    {
      schema: {
        tags,
        summary:
          'Make an Odoo template: version, modules installed with base, language, country, demo data (platform admins)',
        body: NewOdooTemplateBody,
        response: responses({ 201: Type.Object({ template: OdooTemplate }) }),
      },
    },
    async (request, reply) =>
      reply.status(201).send({ template: await templates.create(contextOf(request), request.body) }),
  );

  app.get(
    '/odoo-templates/:id',
    {
      schema: {
        tags,
        summary: 'One Odoo template (platform admins)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ template: OdooTemplate }) }),
      },
    },
    async (request) => ({ template: await templates.get(contextOf(request), request.params.id) }),
  );

  app.patch(
    '/odoo-templates/:id',
    {
      schema: {
        tags,
        summary: 'Change an Odoo template; instances made with it keep what they were made with (platform admins)',
        params: Type.Object({ id: Uuid }),
        body: OdooTemplatePatchBody,
        response: responses({ 200: Type.Object({ template: OdooTemplate }) }),
      },
    },
    async (request) => ({ template: await templates.update(contextOf(request), request.params.id, request.body) }),
  );

  app.delete(
    '/odoo-templates/:id',
    {
      schema: {
        tags,
        summary:
          'Remove an Odoo template; one an instance or a sign-up refers to is archived instead (platform admins)',
        params: Type.Object({ id: Uuid }),
        response: responses({
          200: Type.Object({
            removed: Type.Boolean({ description: 'false: it was archived, because something refers to it' }),
            template: Nullable(OdooTemplate),
          }),
        }),
      },
    },
    async (request) => templates.remove(contextOf(request), request.params.id),
  );
};
