import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { Domain, DomainMethodSchema, InstanceDomains, Protection } from './schemas.js';

const Pem = Type.String({ minLength: 1, maxLength: 65_536 });

export const domainRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { domains, protection } = services;
  const tags = ['domains'];

  app.get(
    '/instances/:id/domains',
    {
      schema: {
        tags,
        summary: 'The names of an instance: its platform name and its custom domains with their DNS records',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: InstanceDomains }),
      },
    },
    async (request) => domains.list(contextOf(request).actor, request.params.id),
  );

  app.post(
    '/instances/:id/domains',
    {
      schema: {
        tags,
        summary: 'Add a custom domain (organization admins); its DNS is checked once at once',
        params: Type.Object({ id: Uuid }),
        body: Type.Object(
          { hostname: Type.String({ minLength: 1, maxLength: 1024 }), method: Type.Optional(DomainMethodSchema) },
          { additionalProperties: false },
        ),
        response: responses({ 201: Type.Object({ domain: Domain }) }),
      },
    },
    async (request, reply) =>
      reply.status(201).send({ domain: await domains.add(contextOf(request), request.params.id, request.body) }),
  );

  app.post(
    '/domains/:id/verify',
    {
      schema: {
        tags,
        summary: 'Check the DNS records of a domain now',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ domain: Domain }) }),
      },
    },
    async (request) => ({ domain: await domains.verify(contextOf(request), request.params.id) }),
  );

  app.post(
    '/domains/:id/primary',
    {
      schema: {
        tags,
        summary: "Make a verified domain the instance's primary name (Odoo's web.base.url follows it)",
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ domain: Domain }) }),
      },
    },
    async (request) => ({ domain: await domains.makePrimary(contextOf(request), request.params.id) }),
  );

  app.delete(
    '/domains/:id',
    {
      schema: {
        tags,
        summary: 'Remove a domain (its route, its primary flag and its certificate go too)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await domains.remove(contextOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/domains/:id/certificate',
    {
      schema: {
        tags,
        summary: "Upload the organization's own certificate (PEM, chain allowed) and its key for a domain",
        params: Type.Object({ id: Uuid }),
        body: Type.Object({ certificate: Pem, key: Pem }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ domain: Domain }) }),
      },
    },
    async (request) => ({
      domain: await domains.uploadCertificate(contextOf(request), request.params.id, request.body),
    }),
  );

  app.delete(
    '/domains/:id/certificate',
    {
      schema: {
        tags,
        summary: 'Remove the uploaded certificate (the edge obtains one itself again)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ domain: Domain }) }),
      },
    },
    async (request) => ({ domain: await domains.removeCertificate(contextOf(request), request.params.id) }),
  );

  app.get(
    '/instances/:id/protection',
    {
      schema: {
        tags,
        summary: 'How the instance is protected at the edge (never the password)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ protection: Protection }) }),
      },
    },
    async (request) => ({ protection: await protection.get(contextOf(request).actor, request.params.id) }),
  );

  app.put(
    '/instances/:id/protection',
    {
      schema: {
        tags,
        summary:
          'Protect a non-production instance: none, basic (a generated password, shown only in this answer) or an address allow-list',
        params: Type.Object({ id: Uuid }),
        body: Type.Union([
          Type.Object({ kind: Type.Literal('none') }, { additionalProperties: false }),
          Type.Object({ kind: Type.Literal('basic') }, { additionalProperties: false }),
          Type.Object(
            {
              kind: Type.Literal('allow'),
              addresses: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }),
            },
            { additionalProperties: false },
          ),
        ]),
        response: responses({ 200: Type.Object({ protection: Protection }) }),
      },
    },
    async (request) => ({
      protection: await protection.set(contextOf(request), request.params.id, request.body),
    }),
  );
};
