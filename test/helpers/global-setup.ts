import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the PostgreSQL server the tests create their databases in. */
    postgresAdminUrl: string;
  }
}

/**
 * One real PostgreSQL for the whole run: MARINA_TEST_DATABASE_URL if given, else an embedded
 * server in a temporary folder (the same code path as Marina's embedded default).
 */
export default async function setup(project: TestProject) {
  const external = process.env.MARINA_TEST_DATABASE_URL;
  if (external) {
    project.provide('postgresAdminUrl', external);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'marina-test-pg-'));
  await chmod(dir, 0o711); // the postgres user must pass through it
  const server = await startEmbeddedPostgres({
    dataDir: dir,
    port: 20000 + Math.floor(Math.random() * 20000),
    logger: pino({ level: 'warn' }),
    takeOver: true,
  });
  project.provide('postgresAdminUrl', server.url.replace(/\/marina$/, '/postgres'));
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
