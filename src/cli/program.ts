import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { loadSecretBox } from '../adapters/keyfile.js';
import { rotateIfLarge } from '../adapters/logfile.js';
import { loadConfig } from '../config.js';
import { systemClock } from '../platform/clock.js';
import { systemContext } from '../platform/context.js';
import { createServices } from '../app/services.js';
import { systemLogFile } from '../modules/settings/system-logs.js';
import { migrate, openDatabase } from '../db/database.js';
import { ConfigError, MarinaError } from '../platform/errors.js';
import { createLogger } from '../logger.js';
import { startMarina, stopOnSignals } from '../main.js';
import { registerBackupCommands } from './backups.js';
import { ApiError, MarinaClient } from './client.js';
import { DEFAULT_URL, forgetCredentials, loadCredentials, saveCredentials } from './credentials.js';
import { CliUsageError, registerInstanceCommands, registerLogCommand } from './instances.js';
import { registerModuleCommands } from './modules.js';
import { registerOffsiteCommands } from './offsite.js';
import { registerOutboundCommands } from './outbound.js';
import { ago, printJson, table } from './output.js';
import { type SecretSource, secretFrom } from './prompt.js';
import { registerRepositoryCommands } from './repos.js';

/** Exit codes scripts can rely on. */
export const exitCodes = { ok: 0, error: 1, usage: 2, unauthenticated: 3, notFound: 4, unreachable: 5 } as const;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = exitCodes.error,
  ) {
    super(message);
  }
}

async function client(): Promise<MarinaClient> {
  const { url, token } = await loadCredentials();
  if (!token)
    throw new CliError('Not logged in. Run `marina login` first (or set MARINA_TOKEN).', exitCodes.unauthenticated);
  return new MarinaClient({ url: url ?? DEFAULT_URL, token });
}

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

/**
 * A password or token: `--<name>-file`, `--<name>-stdin`, the environment, or asked when `question`
 * is given. Never an argument, which `ps` and the shell's history would show.
 */
async function secretOption(
  source: SecretSource,
  name: 'password' | 'token',
  question?: string,
): Promise<string | undefined> {
  try {
    return await secretFrom(source, {
      file: `--${name}-file`,
      stdin: `--${name}-stdin`,
      env: name === 'password' ? 'MARINA_PASSWORD' : 'MARINA_TOKEN',
      question,
    });
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
}

const passwordFileOption = (what: string) =>
  new Option('--password-file <path>', `a file holding ${what} (else MARINA_PASSWORD, or asked)`);
const passwordStdinOption = (what: string) => new Option('--password-stdin', `read ${what} from standard input`);

const jsonOption = () => new Option('--json', 'print JSON for scripts');

interface LoginOptions {
  url: string;
  email?: string;
  passwordFile?: string;
  passwordStdin?: boolean;
  tokenFile?: string;
  tokenStdin?: boolean;
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

  program
    .command('login')
    .description('sign in and store an API token for the next commands')
    .option('--url <url>', "Marina's address", process.env.MARINA_URL ?? DEFAULT_URL)
    .option('--email <email>', 'sign in with email and password; an API token is created for this CLI')
    .addOption(passwordFileOption('the password'))
    .addOption(passwordStdinOption('the password'))
    .option('--token-file <path>', 'use the existing API token in this file instead of a password (or MARINA_TOKEN)')
    .option('--token-stdin', 'read an existing API token from standard input instead of a password')
    .action(async (opts: LoginOptions) => {
      let url: string;
      try {
        url = new URL(opts.url).toString().replace(/\/$/, '');
      } catch {
        throw new CliError(`--url: "${opts.url}" is not a URL such as http://localhost:9998`, exitCodes.usage);
      }
      let token = await secretOption({ file: opts.tokenFile, stdin: opts.tokenStdin }, 'token');
      if (!token) {
        if (!opts.email) throw new CliError('Give --email (and a password) or --token-file.', exitCodes.usage);
        const password =
          (await secretOption({ file: opts.passwordFile, stdin: opts.passwordStdin }, 'password', 'Password: ')) ?? '';
        const anonymous = new MarinaClient({ url });
        const login = await anonymous.request<{ csrfToken: string }>('POST', '/auth/login', {
          email: opts.email,
          password,
        });
        const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
        const session = new MarinaClient({ url, cookie, csrf: login.data.csrfToken });
        const created = await session.post<{ secret: string }>('/tokens', { name: `cli@${hostname()}`.slice(0, 60) });
        await session.post('/auth/logout').catch(() => {});
        token = created.secret;
      }
      const me = await new MarinaClient({ url, token }).get<{ user: { email: string } }>('/me');
      const file = await saveCredentials({ url, token });
      console.log(`Logged in to ${url} as ${me.user.email} (token stored in ${file}).`);
    });

  program
    .command('logout')
    .description('forget the stored token (revoke it with `marina tokens revoke`)')
    .action(async () => {
      await forgetCredentials();
      console.log('Forgot the stored credentials.');
    });

  program
    .command('whoami')
    .description('who the stored token belongs to')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }) => {
      const c = await client();
      const me = await c.get<{
        user: { email: string; name: string; isPlatformAdmin: boolean };
        organizations: { slug: string; role: string }[];
      }>('/me');
      if (opts.json) return printJson(me);
      console.log(
        `${me.user.name} <${me.user.email}>${me.user.isPlatformAdmin ? ' — platform administrator' : ''} on ${c.url}`,
      );
      for (const org of me.organizations) console.log(`  ${org.slug} (${org.role})`);
    });

  const orgs = program.command('orgs').description('organizations');
  orgs
    .command('ls')
    .description('list organizations')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }) => {
      const { organizations } = await (await client()).get<{ organizations: Record<string, string | number | null>[] }>(
        '/organizations',
      );
      if (opts.json) return printJson(organizations);
      console.log(
        table(
          organizations.map((o) => ({ ...o, members: o.memberCount })),
          ['slug', 'name', 'role', 'members', 'id'],
        ),
      );
    });
  orgs
    .command('create <slug>')
    .description('create an organization (platform admins)')
    .requiredOption('--name <name>', 'its display name')
    .addOption(jsonOption())
    .action(async (slug: string, opts: { name: string; json?: boolean }) => {
      const { organization } = await (await client()).post<{ organization: { id: string; slug: string } }>(
        '/organizations',
        { slug, name: opts.name },
      );
      if (opts.json) return printJson(organization);
      console.log(`Created organization ${organization.slug} (${organization.id}).`);
    });
  orgs
    .command('members <org>')
    .description('list the members of an organization (id or slug)')
    .addOption(jsonOption())
    .action(async (org: string, opts: { json?: boolean }) => {
      const { members } = await (await client()).get<{ members: Record<string, string | boolean>[] }>(
        `/organizations/${encodeURIComponent(org)}/members`,
      );
      if (opts.json) return printJson(members);
      console.log(
        table(
          members.map((m) => ({ ...m, status: m.disabled ? 'disabled' : 'active' })),
          ['email', 'name', 'role', 'status', 'userId'],
        ),
      );
    });
  orgs
    .command('add-member <org> <email>')
    .description('invite someone: the link is mailed to them; they join when they accept')
    .addOption(new Option('--role <role>', 'their role').choices(['owner', 'admin', 'member']).default('member'))
    .addOption(jsonOption())
    .action(async (org: string, email: string, opts: { role: string; json?: boolean }) => {
      const result = await (await client()).post<{
        invitation: { id: string; email: string; role: string; mailed: boolean };
      }>(`/organizations/${encodeURIComponent(org)}/members`, { email, role: opts.role });
      if (opts.json) return printJson(result);
      const { invitation } = result;
      console.log(`Invited ${invitation.email} as ${invitation.role}; they join when they accept.`);
      if (!invitation.mailed)
        console.log(
          `The invitation email could not be sent: a platform admin can run \`marina orgs invite-link ${invitation.id}\`.`,
        );
    });
  orgs
    .command('invite-link <invitationId>')
    .description('issue a fresh link for a pending invitation, when no email could be sent (platform admins)')
    .addOption(jsonOption())
    .action(async (invitationId: string, opts: { json?: boolean }) => {
      const result = await (await client()).post<{ url: string; expiresAt: string }>(
        `/invitations/${encodeURIComponent(invitationId)}/link`,
        {},
      );
      if (opts.json) return printJson(result);
      console.log(`Give this one-time link to the invitee only (valid until ${result.expiresAt}):\n  ${result.url}`);
    });

  const tokens = program.command('tokens').description('API tokens');
  tokens
    .command('create <name>')
    .description('create an API token; the secret is printed once')
    .option('--expires-in-days <days>', 'expire after this many days')
    .option('--expires-at <time>', 'expire at this date and time (ISO 8601, e.g. 2027-01-31T18:00:00Z)')
    .option('--read-only', 'the token can only read (GET), never change anything')
    .option('--org <organization>', 'limit the token to this organization (one you are a member of)')
    .addOption(jsonOption())
    .action(
      async (
        name: string,
        opts: { expiresInDays?: string; expiresAt?: string; readOnly?: boolean; org?: string; json?: boolean },
      ) => {
        let expiresInDays: number | undefined;
        if (opts.expiresInDays !== undefined) {
          expiresInDays = Number(opts.expiresInDays);
          if (!/^\d+$/.test(opts.expiresInDays) || expiresInDays < 1 || expiresInDays > 3650) {
            throw new CliError('--expires-in-days: give a whole number of days from 1 to 3650.', exitCodes.usage);
          }
        }
        let expiresAt: string | undefined;
        if (opts.expiresAt !== undefined) {
          const at = new Date(opts.expiresAt);
          if (Number.isNaN(at.getTime())) {
            throw new CliError('--expires-at: give a date and time such as 2027-01-31T18:00:00Z.', exitCodes.usage);
          }
          expiresAt = at.toISOString();
        }
        const api = await client();
        const organizationId = opts.org
          ? (await api.get<{ organization: { id: string } }>(`/organizations/${encodeURIComponent(opts.org)}`))
              .organization.id
          : undefined;
        const result = await api.post<{ token: { id: string; name: string }; secret: string }>('/tokens', {
          name,
          expiresInDays,
          expiresAt,
          scope: opts.readOnly ? 'read' : 'write',
          organizationId,
        });
        if (opts.json) return printJson(result);
        console.log(
          `Created token "${result.token.name}" (${result.token.id}). Copy it now; it is not shown again:\n${result.secret}`,
        );
      },
    );
  tokens
    .command('ls')
    .description('list your API tokens')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }) => {
      const { tokens: rows } = await (await client()).get<{
        tokens: {
          id: string;
          name: string;
          prefix: string;
          lastUsedAt: string | null;
          expiresAt: string | null;
          revokedAt: string | null;
          scope: 'read' | 'write';
          organization: { slug: string } | null;
        }[];
      }>('/tokens');
      if (opts.json) return printJson(rows);
      console.log(
        table(
          rows.map(({ organization, ...t }) => ({
            ...t,
            prefix: `${t.prefix}…`,
            used: ago(t.lastUsedAt),
            state: t.revokedAt ? 'revoked' : t.expiresAt && new Date(t.expiresAt) < new Date() ? 'expired' : 'active',
            reach: `${organization ? organization.slug : 'all'}${t.scope === 'read' ? ' (read-only)' : ''}`,
            expires: t.expiresAt ? t.expiresAt.slice(0, 16).replace('T', ' ') : 'never',
          })),
          ['name', 'prefix', 'reach', 'state', 'expires', 'used', 'id'],
        ),
      );
    });
  tokens
    .command('revoke <id>')
    .description('revoke an API token')
    .action(async (id: string) => {
      const { token } = await (await client()).delete<{ token: { name: string } }>(`/tokens/${encodeURIComponent(id)}`);
      console.log(`Revoked token "${token.name}".`);
    });

  registerInstanceCommands(program, client);
  registerBackupCommands(program, client);
  registerOffsiteCommands(program, client);
  registerOutboundCommands(program, client);
  registerRepositoryCommands(program, client);
  registerModuleCommands(program, client);
  registerLogCommand(program, client);

  program
    .command('audit')
    .description('the audit trail, newest first')
    .option('--category <category>', 'e.g. auth, organization, member, token, user')
    .option('--actor <actor>', 'an email address or user id')
    .option('--target <target>', 'a target id or name')
    .option('--limit <n>', 'how many events', '50')
    .addOption(jsonOption())
    .action(async (opts: { category?: string; actor?: string; target?: string; limit: string; json?: boolean }) => {
      const { events } = await (await client()).get<{
        events: {
          at: string;
          action: string;
          actor: { label: string };
          target: { label: string | null; id: string } | null;
          ip: string | null;
        }[];
      }>('/audit', { category: opts.category, actor: opts.actor, target: opts.target, limit: opts.limit });
      if (opts.json) return printJson(events);
      console.log(
        table(
          events.map((e) => ({
            time: e.at.replace('T', ' ').slice(0, 19),
            action: e.action,
            actor: e.actor.label,
            target: e.target?.label ?? e.target?.id,
            ip: e.ip,
          })),
          ['time', 'action', 'actor', 'target', 'ip'],
        ),
      );
    });

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
