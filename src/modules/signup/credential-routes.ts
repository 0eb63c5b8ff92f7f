import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { Nullable, responses, Uuid } from '../../platform/http/schemas.js';
import type { Notices } from '../../platform/notices.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { InstanceService } from '../instances/service.js';
import { CredentialLinkOpener } from './credential-open.js';
import { SendAccessService } from './send-access.js';

export interface CredentialLinksModule {
  /** Opening a single-use credentials link (sign-up, send access). */
  credentialLinks: CredentialLinkOpener;
  /** Mailing a member an instance's address and a credentials link. */
  sendAccess: SendAccessService;
}

export function createCredentialLinksModule(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  notices: Notices;
  instances: InstanceService;
  publicUrl: string;
}): CredentialLinksModule {
  return {
    credentialLinks: new CredentialLinkOpener(deps),
    sendAccess: new SendAccessService(deps),
  };
}

const OpenedCredentials = Type.Object(
  {
    instance: Type.Object({ id: Uuid, name: Type.String(), url: Nullable(Type.String()) }),
    login: Type.String(),
    password: Nullable(Type.String()),
  },
  { title: 'OpenedCredentials' },
);

export const credentialLinkRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.post(
    '/credential-links/open',
    {
      schema: {
        tags: ['instances'],
        summary:
          "Open a single-use credentials link as its own signed-in user: the instance's address, login and password, this once (audited). A used, expired, unknown or another user's link answers 400 MARINA_E_INVALID_TOKEN",
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: responses({ 200: OpenedCredentials }),
      },
    },
    async (request) => services.credentialLinks.open(contextOf(request), request.body.token),
  );

  app.post(
    '/instances/:id/send-access',
    {
      schema: {
        tags: ['instances'],
        summary:
          "Mail a member of the instance's organization its address and a single-use link to its credentials (instance.credentials on its stage; at most 10 per instance per hour; audited)",
        params: Type.Object({ id: Uuid }),
        body: Type.Object({ userId: Uuid }, { additionalProperties: false }),
        response: responses({ 202: Type.Object({ sent: Type.Literal(true) }) }),
      },
    },
    async (request, reply) => {
      await services.sendAccess.send(contextOf(request), request.params.id, request.body.userId);
      return reply.status(202).send({ sent: true as const });
    },
  );
};
