import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { MarinaConfig } from '../config.js';
import { type Db, isReachable } from '../db/database.js';
import { requestSerializers } from '../logger.js';
import { alertRoutes } from '../modules/alerts/index.js';
import { backupRoutes, recoveryRoutes } from '../modules/backups/index.js';
import { deletedInstanceRoutes } from '../modules/backups/safety-backups.js';
import { billingRoutes } from '../modules/billing/index.js';
import { nodeRoutes } from '../modules/cluster/index.js';
import { codeRoutes } from '../modules/code/index.js';
import { domainRoutes } from '../modules/domains/index.js';
import { edgeRoutes } from '../modules/edge/index.js';
import { identityRoutes } from '../modules/identity/index.js';
import { instanceObservationRoutes, instanceRoutes } from '../modules/instances/index.js';
import { resizeRoutes } from '../modules/instances/resize.js';
import { lifecycleRoutes, lifecycleSettingsRoutes } from '../modules/lifecycle/index.js';
import { mailRoutes } from '../modules/mail/index.js';
import { metricsRoutes } from '../modules/metrics/index.js';
import { seriesRoutes } from '../modules/metrics/series-routes.js';
import { noticeRoutes } from '../modules/notices/index.js';
import { offsiteRoutes } from '../modules/offsite/index.js';
import { oidcRoutes } from '../modules/oidc/index.js';
import { planRoutes } from '../modules/plans/index.js';
import { projectRoutes } from '../modules/projects/index.js';
import { settingsModuleRoutes } from '../modules/settings/index.js';
import { credentialLinkRoutes } from '../modules/signup/credential-routes.js';
import { signupRoutes } from '../modules/signup/index.js';
import { templateRoutes } from '../modules/templates/index.js';
import { uptimeRoutes } from '../modules/uptime/index.js';
import { auditRoutes } from '../platform/audit/routes.js';
import { MarinaError } from '../platform/errors.js';
import { CSRF_HEADER, registerAuthentication, trustProxyOption } from '../platform/http/auth.js';
import { registerErrorHandling, sendError } from '../platform/http/errors.js';
import { registerSerialization } from '../platform/http/serialization.js';
import { registerEventStreams } from '../platform/http/sse.js';
import { registerValidation } from '../platform/http/validation.js';
import { jobRoutes } from '../platform/jobs/routes.js';
import type { Services } from './services.js';

export interface AppDeps {
  config: MarinaConfig;
  services: Services;
  db: Db;
  logger: Logger;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The built SPA: dist/web beside the compiled server, or dist/web of the checkout when running
 * from src/. A built folder has assets/; the Vite sources in web/ have an index.html too, not that.
 */
export function findWebDir(configured: string | undefined): string | undefined {
  if (configured) return existsSync(join(configured, 'index.html')) ? configured : undefined;
  const candidates = [join(here, '..', '..', 'dist', 'web'), join(here, '..', '..', 'web')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'assets')));
}

export async function buildApp({ config, services, db, logger }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Request lines go through our serializer: a push hook's URL is its secret.
    loggerInstance: logger.child({}, { serializers: requestSerializers }) as FastifyBaseLogger,
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: 1024 * 1024,
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerErrorHandling(app);
  registerValidation(app);
  registerSerialization(app);
  // Only JSON bodies: a form post from another site must not reach a route.
  app.removeContentTypeParser('text/plain');
  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Marina API',
        version: '1',
        description:
          'Every error answers `{ "error": { "code", "message", "details" } }` with a stable `MARINA_E_…` code. ' +
          `Browser sessions send the CSRF token from \`GET /api/v1/me\` in the \`${CSRF_HEADER}\` header on writes.`,
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API token (mrn_…)' },
          session: { type: 'apiKey', in: 'cookie', name: 'marina_session' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    hideUntagged: false,
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
  });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    if (!request.url.startsWith('/api/docs')) reply.header('x-frame-options', 'DENY');
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    return payload;
  });

  // API latency by route pattern (bounded labels): measured for every answer, read at /metrics.
  app.addHook('onResponse', async (request, reply) => {
    services.metrics.observeRequest(request.routeOptions.url, request.method, reply.statusCode, reply.elapsedTime);
  });

  registerAuthentication(app, services);
  registerEventStreams(app, services, config.eventStreams);

  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: "Marina's database answers",
        response: { 200: Type.Object({ status: Type.String() }), 503: Type.Object({ status: Type.String() }) },
      },
    },
    async (_request, reply) =>
      (await isReachable(db)) ? { status: 'ready' } : reply.status(503).send({ status: 'database unreachable' }),
  );
  await app.register(metricsRoutes, { services, config });
  app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  const options = { services, config };
  await app.register(
    async (api) => {
      // Each module registers its own routes; this order is the order of the API document.
      for (const routes of [
        identityRoutes,
        auditRoutes,
        jobRoutes,
        projectRoutes,
        instanceRoutes,
        resizeRoutes,
        offsiteRoutes,
        backupRoutes,
        recoveryRoutes,
        deletedInstanceRoutes,
        instanceObservationRoutes,
        seriesRoutes,
        uptimeRoutes,
        alertRoutes,
        settingsModuleRoutes,
        codeRoutes,
        mailRoutes,
        noticeRoutes,
        nodeRoutes,
        domainRoutes,
        edgeRoutes,
        lifecycleRoutes,
        lifecycleSettingsRoutes,
        planRoutes,
        billingRoutes,
        templateRoutes,
        oidcRoutes,
        signupRoutes,
        credentialLinkRoutes,
      ]) {
        await api.register(routes, options);
      }
    },
    { prefix: '/api/v1' },
  );

  const webDir = findWebDir(config.webDir);
  if (webDir) {
    await app.register(fastifyStatic, { root: webDir, wildcard: false, index: false, maxAge: '1h', immutable: false });
  } else {
    logger.warn('the web UI is not built (npm run build); only the API is served');
  }

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith('/api/') && webDir && (request.method === 'GET' || request.method === 'HEAD')) {
      // Client-side routes: every page of the SPA is index.html.
      reply.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
      );
      return reply.type('text/html').header('cache-control', 'no-cache').sendFile('index.html');
    }
    return sendError(reply, new MarinaError('MARINA_E_NOT_FOUND', `No route for ${request.method} ${path}.`));
  });

  return app;
}
