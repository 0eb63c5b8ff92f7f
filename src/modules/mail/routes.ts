import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { MailDetail, MailPage, MailServer, MailServerInput } from './schemas.js';

const InstanceParams = Type.Object({ id: Uuid });
const MailParams = Type.Object({ id: Uuid, mailId: Uuid });

/**
 * The sender's HTML is untrusted: in its own sandbox (no scripts, no forms, no same origin), no
 * request anywhere (images only as data: URLs), and never sniffed as something else.
 */
export const MAIL_HTML_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/** `attachment; filename="…"` with an ASCII fallback and the exact name in RFC 5987 form. */
function disposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_').slice(0, 150) || 'attachment';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export const mailRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { mailServers, inbox } = services;

  app.get(
    '/instances/:id/mail-server',
    {
      schema: {
        tags: ['mail'],
        summary: "How the instance's Odoo sends mail",
        params: InstanceParams,
        response: responses({ 200: Type.Object({ mailServer: MailServer }) }),
      },
    },
    async (request) => ({ mailServer: await mailServers.get(contextOf(request).actor, request.params.id) }),
  );

  app.put(
    '/instances/:id/mail-server',
    {
      schema: {
        tags: ['mail'],
        summary:
          "Set how the instance's Odoo sends mail (organization admins): written into Odoo at once as its one active outgoing server",
        params: InstanceParams,
        body: MailServerInput,
        response: responses({ 200: Type.Object({ mailServer: MailServer }) }),
      },
    },
    async (request) => ({
      mailServer: await mailServers.set(contextOf(request), request.params.id, request.body),
    }),
  );

  app.get(
    '/instances/:id/mails',
    {
      schema: {
        tags: ['mail'],
        summary: "The instance's caught mail, newest first (the mail catcher's inbox)",
        params: InstanceParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: MailPage }),
      },
    },
    async (request) => inbox.list(contextOf(request).actor, request.params.id, request.query),
  );

  app.delete(
    '/instances/:id/mails',
    {
      schema: {
        tags: ['mail'],
        summary: 'Delete every caught message of the instance (organization admins)',
        params: InstanceParams,
        response: responses({ 200: Type.Object({ deleted: Type.Integer() }) }),
      },
    },
    async (request) => inbox.deleteAll(contextOf(request), request.params.id),
  );

  app.get(
    '/instances/:id/mails/:mailId',
    {
      schema: {
        tags: ['mail'],
        summary: 'One caught message: headers, text and attachments',
        params: MailParams,
        response: responses({ 200: Type.Object({ mail: MailDetail }) }),
      },
    },
    async (request) => ({
      mail: await inbox.get(contextOf(request).actor, request.params.id, request.params.mailId),
    }),
  );

  app.get(
    '/instances/:id/mails/:mailId/html',
    {
      schema: {
        tags: ['mail'],
        summary: 'The HTML of a caught message, sandboxed (no scripts, no remote content)',
        params: MailParams,
        produces: ['text/html'],
        response: responses({ 200: Type.String() }),
      },
    },
    async (request, reply) => {
      const html = await inbox.html(contextOf(request).actor, request.params.id, request.params.mailId);
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', MAIL_HTML_CSP)
        .header('x-content-type-options', 'nosniff')
        .send(html);
    },
  );

  app.get(
    '/instances/:id/mails/:mailId/attachments/:index',
    {
      schema: {
        tags: ['mail'],
        summary: 'Download one attachment of a caught message',
        params: Type.Object({ id: Uuid, mailId: Uuid, index: Type.Integer({ minimum: 0, maximum: 1000 }) }),
        produces: ['application/octet-stream'],
      },
    },
    async (request, reply) => {
      const { id, mailId, index } = request.params;
      const file = await inbox.attachment(contextOf(request).actor, id, mailId, index);
      // Always a download, never rendered: an HTML attachment must not run on Marina's origin.
      return reply
        .type('application/octet-stream')
        .header('content-disposition', disposition(file.filename))
        .header('content-security-policy', MAIL_HTML_CSP)
        .header('x-content-type-options', 'nosniff')
        .send(file.content);
    },
  );
};
