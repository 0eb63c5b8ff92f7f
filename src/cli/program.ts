import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Command, CommanderError } from 'commander';
import { loadSecretBox } from '../adapters/keyfile.js';
import { rotateIfLarge } from '../adapters/logfile.js';
import { createServices } from '../app/services.js';
import { loadConfig } from '../config.js';
import { migrate, openDatabase } from '../db/database.js';
import { createLogger } from '../logger.js';
import { startMarina, stopOnSignals } from '../main.js';
import { systemLogFile } from '../modules/settings/system-logs.js';
import { systemClock } from '../platform/clock.js';
import { systemContext } from '../platform/context.js';
import { ConfigError, MarinaError } from '../platform/errors.js';
import { registerAccountCommands, registerAuditCommand } from './accounts.js';
import { ApiError } from './api/client.js';
import { registerBackupCommands } from './backups.js';
import { registerCustomerCommands } from './customers.js';
import { registerDomainCommands } from './domains.js';
import { CliError, CliUsageError, exitCodes } from './errors.js';
import { registerInstanceCommands } from './instances.js';
import { registerJobCommands } from './jobs.js';
import { registerLogCommand } from './logs.js';
import { registerModuleCommands } from './modules.js';
import { registerNodeCommands } from './nodes.js';
import { registerDestinationCommands } from './offsite/destinations.js';
import { registerScheduleCommands } from './offsite/schedules.js';
import { registerOutboundCommands } from './outbound.js';
import { registerRepositoryCommands } from './repos.js';
import { passwordFileOption, passwordStdinOption, secretOption } from './secret-options.js';
import { registerSessionCommands, signedInClient } from './session.js';

/** Commands that work on this server's own database, without the HTTP API (no credentials exist yet). */
async function withLocalDatabase<T>(work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger({ ...config, logLevel: 'warn', logFormat: 'json' });
  const database = await openDatabase(config, logger, false);
  try {
    await migrate(database.db);
    return await work(database);
  } finally {
    await database.close();
  }
}

export function buildProgram(): Command {
  const program = new Command('marina')
    .description('Marina — self-hosted Odoo hosting. Most commands talk to a running Marina (see `marina login`).')
    .version('0.1.0')
    .showHelpAfterError()
    // Set before the commands exist, so that every subcommand inherits it: usage errors commander
    // finds itself reach runCli, which exits with the usage code 2.
    .exitOverride();

  program
    .command('serve')
    .description('start the Marina server (config from MARINA_* variables)')
    .action(async () => {
      const config = loadConfig();
      // The data folder first, 0711: the embedded PostgreSQL's user must pass through it (the log
      // folder below would otherwise create it 0750).
      await mkdir(config.dataDir, { recursive: true, mode: 0o711 });
      const file = systemLogFile(config.dataDir);
      await rotateIfLarge(file, 50 * 1024 * 1024);
      const logger = createLogger(config, file);
      const marina = await startMarina(config, logger).catch((error: unknown) => {
        logger.error({ err: error }, 'Marina could not start');
        // Whatever is still pending (a socket, a timer) must not keep a server that never listened alive.
        setTimeout(() => process.exit(exitCodes.error), 1_000).unref();
        throw error;
      });
      stopOnSignals(marina, logger);
    });

  const db = program.command('db').description("Marina's own database");
  db.command('migrate')
    .description('apply pending migrations (the server also does this at start-up)')
    .action(async () => {
      const applied = await withLocalDatabase((database) => migrate(database.db));
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date');
    });

  const admin = program.command('admin').description('platform administrators (run on the server)');
  admin
    .command('create')
    .description("create a platform administrator in this server's database")
    .requiredOption('--email <email>', 'their email address')
    .addOption(passwordFileOption('their password'))
    .addOption(passwordStdinOption('their password'))
    .option('--name <name>', 'their display name')
    .action(async (opts: { email: string; passwordFile?: string; passwordStdin?: boolean; name?: string }) => {
      const password =
        (await secretOption(
          { file: opts.passwordFile, stdin: opts.passwordStdin },
          'password',
          'Password for the new administrator: ',
        )) ?? '';
      const user = await withLocalDatabase(async ({ db }) => {
        const config = loadConfig();
        const logger = createLogger({ ...config, logLevel: 'warn', logFormat: 'json' });
        const box = await loadSecretBox(config.secretKey, config.dataDir);
        const services = createServices({ db, clock: systemClock, config, logger, box, connectionString: '' });
        return services.users.createPlatformAdmin(systemContext(`cli@${hostname()}`), {
          email: opts.email,
          password,
          name: opts.name,
        });
      });
      console.log(
        `Created administrator ${user.email}. Sign in at the web UI or run \`marina login --email ${user.email}\`.`,
      );
    });

  // Signed-in commands, in the order `marina --help` lists them.
  const client = signedInClient;
  registerSessionCommands(program, client);
  registerAccountCommands(program, client);
  registerCustomerCommands(program, client);
  registerInstanceCommands(program, client);
  registerJobCommands(program, client);
  registerBackupCommands(program, client);
  registerDestinationCommands(program, client);
  registerScheduleCommands(program, client);
  registerOutboundCommands(program, client);
  registerRepositoryCommands(program, client);
  registerDomainCommands(program, client);
  registerModuleCommands(program, client);
  registerNodeCommands(program, client);
  registerLogCommand(program, client);
  registerAuditCommand(program, client);

  return program;
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof CliUsageError) return exitCodes.usage;
  if (error instanceof ApiError) {
    if (error.status === 0) return exitCodes.unreachable;
    if (error.status === 401) return exitCodes.unauthenticated;
    if (error.status === 404) return exitCodes.notFound;
    if (error.status === 400) return exitCodes.usage;
    return exitCodes.error;
  }
  if (error instanceof MarinaError)
    return error.status === 404 ? exitCodes.notFound : error.status < 500 ? exitCodes.usage : exitCodes.error;
  if (error instanceof ConfigError) return exitCodes.usage;
  return exitCodes.error;
}

export async function runCli(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : exitCodes.usage;
      return;
    }
    const code = error instanceof ApiError || error instanceof MarinaError ? ` [${error.code}]` : '';
    console.error(`marina: ${(error as Error).message}${code}`);
    process.exitCode = exitCodeFor(error);
  }
}
