import { hostname } from 'node:os';
import type { Command } from 'commander';
import { MarinaClient } from './api/client.js';
import { DEFAULT_URL, forgetCredentials, loadCredentials, saveCredentials } from './credentials.js';
import { CliError, exitCodes } from './errors.js';
import { printJson } from './output.js';
import { jsonOption, passwordFileOption, passwordStdinOption, secretOption } from './secret-options.js';

/** Signing in and out: `marina login`, `logout`, `whoami`, and the client every other command uses. */

/** A client with the stored (or MARINA_TOKEN) credentials; none is a "not signed in" error. */
export async function signedInClient(): Promise<MarinaClient> {
  const { url, token } = await loadCredentials();
  if (!token)
    throw new CliError('Not logged in. Run `marina login` first (or set MARINA_TOKEN).', exitCodes.unauthenticated);
  return new MarinaClient({ url: url ?? DEFAULT_URL, token });
}

interface LoginOptions {
  url: string;
  email?: string;
  passwordFile?: string;
  passwordStdin?: boolean;
  tokenFile?: string;
  tokenStdin?: boolean;
}

/** Signs in with email and password and makes an API token for this CLI; the session ends at once. */
async function tokenFromPassword(url: string, email: string, password: string): Promise<string> {
  const anonymous = new MarinaClient({ url });
  const login = await anonymous.answer(anonymous.api.POST('/api/v1/auth/login', { body: { email, password } }));
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const session = new MarinaClient({ url, cookie, csrf: login.data.csrfToken });
  const created = await session.call(
    session.api.POST('/api/v1/tokens', { body: { name: `cli@${hostname()}`.slice(0, 60) } }),
  );
  await session.call(session.api.POST('/api/v1/auth/logout')).catch(() => {});
  return created.secret;
}

export function registerSessionCommands(program: Command, client: () => Promise<MarinaClient>): void {
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
        token = await tokenFromPassword(url, opts.email, password);
      }
      const signedIn = new MarinaClient({ url, token });
      const me = await signedIn.call(signedIn.api.GET('/api/v1/me'));
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
      const me = await c.call(c.api.GET('/api/v1/me'));
      if (opts.json) return printJson(me);
      console.log(
        `${me.user.name} <${me.user.email}>${me.user.isPlatformAdmin ? ' — platform administrator' : ''} on ${c.url}`,
      );
      for (const org of me.organizations) console.log(`  ${org.slug} (${org.role})`);
    });
}
