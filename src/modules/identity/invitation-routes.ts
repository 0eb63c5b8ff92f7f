import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { anonymousContext, contextOf, setSessionCookie } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { DateTime, Email, IdOrSlug, Name, Password, responses, Uuid } from '../../platform/http/schemas.js';
import {
  Invitation,
  InvitationAccepted,
  InvitationAcceptedSession,
  InvitationPreview,
  MyInvitation,
  RoleInput,
} from './schemas.js';

const Token = Type.String({ minLength: 1, maxLength: 100 });

export const invitationRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, config }) => {
  const invitations = services.invitations;

  app.post(
    '/organizations/:id/members',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Invite someone by email: the link is mailed to them, never returned; they join when they accept',
        params: Type.Object({ id: IdOrSlug }),
        body: Type.Object({ email: Email, role: RoleInput }, { additionalProperties: false }),
        response: responses({ 201: Type.Object({ status: Type.Literal('invited'), invitation: Invitation }) }),
      },
    },
    async (request, reply) =>
      reply.status(201).send(await invitations.invite(contextOf(request), request.params.id, request.body)),
  );

  app.get(
    '/organizations/:id/invitations',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Pending invitations of an organization (admins)',
        params: Type.Object({ id: IdOrSlug }),
        response: responses({ 200: Type.Object({ invitations: Type.Array(Invitation) }) }),
      },
    },
    async (request) => ({ invitations: await invitations.list(contextOf(request).actor, request.params.id) }),
  );

  app.delete(
    '/organizations/:id/invitations/:invitationId',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Revoke a pending invitation: its link stops working',
        params: Type.Object({ id: IdOrSlug, invitationId: Uuid }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await invitations.revoke(contextOf(request), request.params.id, request.params.invitationId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/invitations/:id/link',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Issue a fresh invitation link, for when no email could be sent (platform admins)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ url: Type.String(), expiresAt: DateTime }) }),
      },
    },
    async (request) => invitations.issueLink(contextOf(request), request.params.id),
  );

  app.get(
    '/me/invitations',
    {
      schema: {
        tags: ['account'],
        summary: 'Invitations waiting for your account',
        response: responses({ 200: Type.Object({ invitations: Type.Array(MyInvitation) }) }),
      },
    },
    async (request) => ({ invitations: await invitations.mine(contextOf(request)) }),
  );

  app.post(
    '/me/invitations/:id/accept',
    {
      schema: {
        tags: ['account'],
        summary: 'Accept an invitation addressed to your account (signed in)',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: InvitationAccepted }),
      },
    },
    async (request) => invitations.acceptAsUser(contextOf(request), request.params.id),
  );

  app.post(
    '/auth/invite/lookup',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'What an invitation link is for, and whether its address already has an account',
        body: Type.Object({ token: Token }, { additionalProperties: false }),
        response: responses({ 200: InvitationPreview }),
      },
    },
    async (request) => invitations.preview(request.body.token),
  );

  app.post(
    '/auth/invite',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Accept an invitation with its link: an existing account gives its own password, a new one chooses it',
        body: Type.Object(
          { token: Token, password: Password, name: Type.Optional(Name) },
          { additionalProperties: false },
        ),
        response: responses({ 200: InvitationAcceptedSession }),
      },
    },
    async (request, reply) => {
      // Accepting signs in: the invitee goes straight to the organization.
      const { session, ...accepted } = await invitations.acceptWithToken(
        anonymousContext(request),
        request.body,
        request.headers['user-agent'] ?? null,
      );
      setSessionCookie(reply, request, config.publicUrl, session.sessionSecret, session.expiresAt);
      return { ...accepted, csrfToken: session.csrfToken, expiresAt: session.expiresAt.toISOString() };
    },
  );
};
