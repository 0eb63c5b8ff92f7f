import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../app/services.js';
import type { MarinaConfig } from '../../config.js';
import { type AuthenticatedSession, SESSION_COOKIE } from '../../modules/identity/auth.js';
import type { AnonymousContext, RequestContext } from '../context.js';
import { MarinaError } from '../errors.js';

export const CSRF_HEADER = 'x-marina-csrf';

declare module 'fastify' {
  interface FastifyRequest {
    auth: { ctx: RequestContext; session: AuthenticatedSession | null } | null;
  }
  interface FastifyContextConfig {
    /** Routes anyone may call (login, setup, health). Everything else needs a session or a token. */
    public?: boolean;
    /** Writes a read-only session (support opened as an organization) may still send: sign-out, end. */
    readOnlySessionMay?: boolean;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** All a read-only token may send: every route that changes something takes another method. */
const READ_METHODS = new Set(['GET', 'HEAD']);

export function contextOf(request: FastifyRequest): RequestContext {
  if (!request.auth) throw new MarinaError('MARINA_E_UNAUTHENTICATED');
  return request.auth.ctx;
}

export const anonymousContext = (request: FastifyRequest): AnonymousContext => ({ actor: null, ip: request.ip });

/**
 * Authenticates every non-public route: `Authorization: Bearer mrn_…` first, then the session
 * cookie. Writes authenticated by a cookie must carry the session's CSRF token in a header that
 * another site cannot set; bearer tokens are not sent by browsers on their own, so they need none.
 */
export function registerAuthentication(app: FastifyInstance, services: Services): void {
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.routeOptions.config?.public || !request.routeOptions.url?.startsWith('/api/v1/')) return;
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer (\S+)$/i.exec(header);
      if (!match?.[1])
        throw new MarinaError('MARINA_E_INVALID_TOKEN', 'Send the token as "Authorization: Bearer mrn_…".');
      const actor = await services.tokens.authenticate(match[1]);
      if (actor.metricsOnly) {
        throw new MarinaError(
          'MARINA_E_TOKEN_SCOPE',
          'This API token has the metrics scope: it may only scrape GET /metrics.',
        );
      }
      if (actor.readOnly && !READ_METHODS.has(request.method)) {
        throw new MarinaError('MARINA_E_TOKEN_SCOPE', 'This API token is read-only: it can only read (GET).');
      }
      request.auth = { ctx: { actor, ip: request.ip }, session: null };
      return;
    }
    const secret = request.cookies[SESSION_COOKIE];
    if (!secret) throw new MarinaError('MARINA_E_UNAUTHENTICATED');
    const session = await services.auth.authenticateSession(secret);
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      services.auth.checkCsrf(session, Array.isArray(sent) ? sent[0] : sent);
    }
    // Support opened as an organization looks and changes nothing, whatever its own rights.
    if (
      session.actor.readOnly &&
      !READ_METHODS.has(request.method) &&
      !request.routeOptions.config?.readOnlySessionMay
    ) {
      throw new MarinaError(
        'MARINA_E_FORBIDDEN',
        'This session is read-only (opened as the organization): end it to act with your own rights.',
      );
    }
    request.auth = { ctx: { actor: session.actor, ip: request.ip }, session };
  });
}

/**
 * What Fastify's `trustProxy` gets. A hop count becomes a function trusting that many hops from
 * the socket's peer (Fastify now treats a bare number as "trust nothing"): right only when every
 * request comes through that many proxies, which is what the operator declares by setting it.
 */
export function trustProxyOption(
  setting: MarinaConfig['trustProxy'],
): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting !== 'number') return setting;
  return (_address, hop) => hop < setting;
}

export function isSecureRequest(request: FastifyRequest, publicUrl: string): boolean {
  return request.protocol === 'https' || publicUrl.startsWith('https://');
}

export function setSessionCookie(
  reply: FastifyReply,
  request: FastifyRequest,
  publicUrl: string,
  secret: string,
  expires: Date,
): void {
  reply.setCookie(SESSION_COOKIE, secret, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: isSecureRequest(request, publicUrl),
    expires,
  });
}

export function clearSessionCookie(reply: FastifyReply, request: FastifyRequest, publicUrl: string): void {
  reply.clearCookie(SESSION_COOKIE, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: isSecureRequest(request, publicUrl),
  });
}
