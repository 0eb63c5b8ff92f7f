import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, marina, requireBuild, type Server, startServer } from './helpers/process.js';

let dir: string;
let env: NodeJS.ProcessEnv;
let url: string;
const running: Server[] = [];
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), 'marina-process-'));
  await chmod(dir, 0o711);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    MARINA_DATA_DIR: join(dir, 'data'),
    MARINA_HOST: '127.0.0.1',
    MARINA_PORT: String(port),
    MARINA_PUBLIC_URL: url,
    MARINA_EMBEDDED_PG_PORT: String(await freePort()),
    MARINA_LOG_FORMAT: 'json',
  };
});

afterAll(async () => {
  for (const server of running) {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }
  await rm(dir, { recursive: true, force: true });
});

function serve(): Server {
  const server = startServer(env);
  running.push(server);
  return server;
}

async function postmasterPid(): Promise<number | undefined> {
  try {
    return Number((await readFile(join(dir, 'data', 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** Running, not a zombie: a killed parent's children are reaped late, or never, inside containers. */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('the marina command on a fresh machine', () => {
  let sessionCookie = '';

  it('refuses a bad configuration, naming the variable and what it expects', async () => {
    const result = await marina(['serve'], { ...env, MARINA_PORT: 'abc', MARINA_LOG_LEVEL: 'loud' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('MARINA_PORT: expected an integer from 1 to 65535, got "abc"');
    expect(result.stderr).toContain('MARINA_LOG_LEVEL: expected one of');
  });

  it('starts on its embedded database and prints a one-time setup link', async () => {
    const server = serve();
    await server.waitFor('Marina is listening');
    const setupLine = await server.waitFor(/\/setup#[A-Za-z0-9_-]{43}/);
    expect(setupLine).toContain('/setup#');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${url}/api/v1/setup`)).json()).toEqual({ needed: true });
    expect((await fetch(`${url}/api/openapi.json`)).status).toBe(200);
    expect((await fetch(`${url}/api/docs`)).status).toBe(200);
    // The same JSON lines go to data/logs/marina.log, which the system log endpoints read.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await readFile(join(dir, 'data', 'logs', 'marina.log'), 'utf8')).toContain('"msg":"Marina is listening');
  });

  it('creates the first admin from the CLI while the server runs', async () => {
    // No secret as an argument: --password is not an option any more; stdin, a file or a prompt are.
    const asArgument = await marina(['admin', 'create', '--email', 'admin@example.com', '--password', PASSWORD], env);
    expect(asArgument.code).toBe(2);
    expect(asArgument.stderr).toContain("unknown option '--password'");
    const weak = await marina(['admin', 'create', '--email', 'admin@example.com', '--password-stdin'], env, 'admin\n');
    expect(weak.code).toBe(2);
    expect(weak.stderr).toContain('MARINA_E_WEAK_PASSWORD');
    const made = await marina(['admin', 'create', '--email', 'admin@example.com'], {
      ...env,
      MARINA_PASSWORD: PASSWORD,
    });
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(await (await fetch(`${url}/api/v1/setup`)).json()).toEqual({ needed: false });
  });

  it('logs in, manages organizations and tokens, and shows the audit trail', async () => {
    expect((await marina(['whoami'], env)).code).toBe(3);
    const passwordFile = join(dir, 'password.txt');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const login = await marina(
      ['login', '--url', url, '--email', 'admin@example.com', '--password-file', passwordFile],
      env,
    );
    expect(login.stderr).toBe('');
    expect(login.stdout).toContain('Logged in');
    const credentials = JSON.parse(await readFile(join(dir, 'config', 'marina', 'credentials.json'), 'utf8'));
    expect(credentials.token).toMatch(/^mrn_/);

    expect(JSON.parse((await marina(['whoami', '--json'], env)).stdout).user.email).toBe('admin@example.com');
    expect((await marina(['orgs', 'create', 'acme', '--name', 'ACME Corp'], env)).code).toBe(0);
    const badSlug = await marina(['orgs', 'create', 'Bad Slug;rm -rf', '--name', 'x'], env);
    expect(badSlug.code).toBe(2);
    expect(badSlug.stderr).toContain('MARINA_E_VALIDATION');
    const invite = await marina(['orgs', 'add-member', 'acme', 'new@acme.test', '--role', 'admin', '--json'], env);
    const { status, invitation } = JSON.parse(invite.stdout);
    expect({ status, mailed: invitation.mailed }).toEqual({ status: 'invited', mailed: false });
    expect(invite.stdout).not.toMatch(/\/invite#/);
    // Without SMTP, the platform admin (the CLI's user here) issues the link.
    const link = await marina(['orgs', 'invite-link', invitation.id], env);
    expect(link.stdout).toMatch(/\/invite#[A-Za-z0-9_-]{43}/);
    const orgs = JSON.parse((await marina(['orgs', 'ls', '--json'], env)).stdout);
    expect(orgs).toEqual([expect.objectContaining({ slug: 'acme', name: 'ACME Corp', memberCount: 0 })]);
    expect((await marina(['orgs', 'ls'], env)).stdout).toMatch(/SLUG\s+NAME/);
    expect((await marina(['orgs', 'members', 'nope'], env)).code).toBe(4);

    const created = JSON.parse((await marina(['tokens', 'create', 'ci', '--json'], env)).stdout);
    expect(created.secret).toMatch(/^mrn_/);
    const useToken = await marina(['whoami'], { ...env, MARINA_TOKEN: created.secret });
    expect(useToken.stdout).toContain('admin@example.com');
    const tokens = JSON.parse((await marina(['tokens', 'ls', '--json'], env)).stdout);
    expect(tokens.map((t: { name: string }) => t.name).sort()).toEqual(['ci', expect.stringMatching(/^cli@/)]);
    expect((await marina(['tokens', 'revoke', created.token.id], env)).code).toBe(0);
    expect((await marina(['whoami'], { ...env, MARINA_TOKEN: created.secret })).code).toBe(3);
    expect((await marina(['tokens', 'create', 'x', '--expires-in-days', 'soon'], env)).code).toBe(2);

    const audit = JSON.parse((await marina(['audit', '--json', '--limit', '100'], env)).stdout);
    const actions = audit.map((e: { action: string }) => e.action);
    for (const action of [
      'user.create_admin',
      'session.login',
      'token.create',
      'organization.create',
      'invitation.create',
      'token.revoke',
    ]) {
      expect(actions).toContain(action);
    }

    const res = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.com', password: PASSWORD }),
    });
    sessionCookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(sessionCookie).toMatch(/^marina_session=/);
    // Some twenty CLI runs, each a Node start-up: slow on a busy machine.
  }, 180_000);

  it('creates read-only tokens, which cannot change anything', async () => {
    const reader = JSON.parse((await marina(['tokens', 'create', 'reader', '--read-only', '--json'], env)).stdout);
    expect(reader.token).toMatchObject({ scope: 'read', organization: null });
    const refused = await marina(['orgs', 'create', 'nope', '--name', 'Nope'], { ...env, MARINA_TOKEN: reader.secret });
    expect(refused.stderr).toContain('MARINA_E_TOKEN_SCOPE');
    expect((await marina(['tokens', 'ls'], env)).stdout).toMatch(/reader\s+mrn_\S+\s+all \(read-only\)/);
  }, 60_000);

  it('stops gracefully on SIGTERM, stopping its embedded PostgreSQL', async () => {
    const server = running.at(-1) as Server;
    const pid = await postmasterPid();
    expect(pid && (await alive(pid))).toBeTruthy();
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('"msg":"stopped"');
    expect(await postmasterPid()).toBeUndefined();
  });

  it('keeps everything across a restart: data, sessions, and no new setup link', async () => {
    const server = serve();
    await server.waitFor('Marina is listening');
    expect(server.output()).not.toContain('/setup#');
    expect(server.output()).not.toContain('creating the embedded PostgreSQL cluster');
    const me = await fetch(`${url}/api/v1/me`, { headers: { cookie: sessionCookie } });
    expect(me.status).toBe(200);
    expect(JSON.parse((await marina(['orgs', 'ls', '--json'], env)).stdout)).toHaveLength(1);
  });

  it('recovers after being killed: takes over the orphaned PostgreSQL and loses nothing', async () => {
    const killed = running.at(-1) as Server;
    const orphan = await postmasterPid();
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(orphan && (await alive(orphan))).toBeTruthy();

    const server = serve();
    await server.waitFor('Marina is listening');
    expect(server.output()).toContain('stopping an embedded PostgreSQL left running by an earlier Marina');
    const me = await fetch(`${url}/api/v1/me`, { headers: { cookie: sessionCookie } });
    expect(me.status).toBe(200);
    expect(orphan && (await alive(orphan))).toBeFalsy();
  });

  it('says clearly when the server cannot be reached', async () => {
    const result = await marina(['whoami'], { ...env, MARINA_URL: 'http://127.0.0.1:9' });
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('Cannot reach Marina at http://127.0.0.1:9');
  });
});
