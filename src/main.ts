import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadSecretBox } from './adapters/keyfile.js';
import { buildApp } from './app/http.js';
import { createServices } from './app/services.js';
import type { MarinaConfig } from './config.js';
import { migrate, openDatabase } from './db/database.js';
import { systemClock } from './platform/clock.js';
import { resealLegacySecrets } from './platform/secrets/secret-migration.js';

export interface RunningMarina {
  app: FastifyInstance;
  url: string;
  setupUrl: string | undefined;
  stop(): Promise<void>;
}

/** Wires config → database → services → HTTP, and tears them down in the reverse order. */
export async function startMarina(config: MarinaConfig, logger: Logger): Promise<RunningMarina> {
  const database = await openDatabase(config, logger, true);
  let services: ReturnType<typeof createServices> | undefined;
  try {
    await migrate(database.db, logger);
    const box = await loadSecretBox(config.secretKey, config.dataDir);
    const resealed = await resealLegacySecrets(database.db, box, systemClock);
    if (resealed > 0) logger.info({ count: resealed }, 'stored secrets re-sealed, each bound to its row (v2)');
    services = createServices({
      db: database.db,
      clock: systemClock,
      config,
      logger,
      box,
      connectionString: database.url,
    });
    const running = services;
    const app = await buildApp({ config, services, db: database.db, logger });
    // An unreachable Docker engine is reported (GET /api/v1/hosts, the log) but does not stop Marina.
    await services.startBackground();
    await app.listen({ host: config.host, port: config.port });
    const setupUrl = await services.setup.issueLink(config.publicUrl);
    logger.info(
      { url: config.publicUrl, database: database.embedded ? 'embedded' : 'external', dataDir: config.dataDir },
      `Marina is listening on ${config.publicUrl}`,
    );
    if (setupUrl) {
      logger.info(
        { setupUrl },
        `No administrator yet. Open ${setupUrl} to create one (a one-time link), or run: marina admin create --email you@example.com`,
      );
    }
    let stopping: Promise<void> | undefined;
    return {
      app,
      url: config.publicUrl,
      setupUrl,
      stop: () => {
        stopping ??= (async () => {
          await app.close();
          await running.stopBackground();
          await database.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    // The workers and the event follower must stop too, or they keep a failed process alive.
    await services?.stopBackground().catch(() => {});
    await database.close().catch(() => {});
    throw error;
  }
}

/** SIGINT/SIGTERM: stop taking requests, let the in-flight ones finish, close the database, exit. */
export function stopOnSignals(marina: RunningMarina, logger: Logger): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    marina.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
