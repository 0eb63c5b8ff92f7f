import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/app/http.js';
import { createServices, type Services } from '../../src/app/services.js';
import { loadConfig, type MarinaConfig } from '../../src/config.js';
import type { Db } from '../../src/db/database.js';
import type { BillingStandins } from '../../src/modules/billing/index.js';
import type { Clock } from '../../src/platform/clock.js';
import { systemContext } from '../../src/platform/context.js';
import { SecretBox } from '../../src/platform/secrets/secret-box.js';
import type { RuntimeFactory } from '../../src/runtime/port.js';
import { createTestDatabase } from './db.js';

/**
 * A clock the test moves by hand: expiry and lockouts without sleeping. It starts from the real
 * time, so sessions it issues are valid in a real browser on any date; a test that needs a
 * calendar (schedules across a time-zone rule) gives its own start.
 */
export class TestClock implements Clock {
  private current: Date;
  constructor(start: Date = new Date()) {
    this.current = new Date(start);
  }
  now(): Date {
    return new Date(this.current);
  }
  advanceMinutes(minutes: number): void {
    this.current = new Date(this.current.getTime() + minutes * 60_000);
  }
  /** Sets the time (backwards too: sessions only compare it with times it gave before). */
  set(at: Date): void {
    this.current = new Date(at);
  }
}

export interface TestApp {
  /** Every line Marina logged, when MARINA_TEST_CAPTURE_LOGS=1 (to prove what never gets logged). */
  logs: string[];
  app: FastifyInstance;
  db: Db;
  services: Services;
  clock: TestClock;
  config: MarinaConfig;
  close(): Promise<void>;
}

/**
 * A fixed start for tests that check schedule times in a time zone (a winter day in Brussels).
 * Only for tests that call Marina without a browser: a browser drops a session cookie whose
 * expiry, computed from this clock, has passed in real time.
 */
export const SCHEDULE_CALENDAR_START = new Date('2026-11-21T09:00:00Z');

export interface TestAppOptions {
  /** Where the test clock starts (default: now). */
  clockStart?: Date;
  /** Hosts' runtimes: the in-memory stand-in (src/runtime/memory.ts) instead of Docker. */
  runtime?: RuntimeFactory;
  /** How often the edge checks the proxy kept its configuration (default once a minute). */
  edgeProxyCheckMs?: number;
  /** External sign-in providers on plain http (the loopback test provider); production cannot set it. */
  oidc?: { allowInsecureIssuers?: true };
  /** Alert webhooks on plain http (loopback receivers); production cannot set it. */
  alertsAllowHttp?: true;
  /** Payment providers' loopback stand-ins (test/standin/stripe-server.ts, paynow-server.ts). */
  billingStandins?: BillingStandins;
}

export async function createTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({ MARINA_DATA_DIR: '/tmp/marina-unused', MARINA_LOG_LEVEL: 'silent', ...env });
  const clock = new TestClock(options.clockStart);
  const logs: string[] = [];
  const logger =
    env.MARINA_TEST_CAPTURE_LOGS === '1'
      ? pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) })
      : pino({ level: 'silent' });
  const makeServices = () =>
    createServices({
      db: database.db,
      clock,
      config,
      logger,
      box: SecretBox.fromPassphrase('marina test secret key'),
      connectionString: database.url,
      runtime: options.runtime,
      edgeProxyCheckMs: options.edgeProxyCheckMs,
      oidc: options.oidc,
      alertsAllowHttp: options.alertsAllowHttp,
      billingStandins: options.billingStandins,
    });
  const services = makeServices();
  const app = await buildApp({ config, services, db: database.db, logger });
  await app.ready();
  const made: TestApp = {
    logs,
    app,
    db: database.db,
    services,
    clock,
    config,
    close: async () => {
      await app.close();
      await services.stopBackground();
      await database.drop();
    },
  };
  restartable.set(made, { makeServices, logger, drop: () => database.drop() });
  return made;
}

/** What a restart needs of the first app: how its services were made, its logger, its database. */
const restartable = new WeakMap<
  TestApp,
  { makeServices: () => Services; logger: pino.Logger; drop: () => Promise<void> }
>();

/**
 * Marina restarted: the app and its background work stop, then new services and a new app are made
 * on the same database, configuration and clock (as after a crash and a start). The caller starts
 * the background again (`startBackground`) and listens again if it listened. Use the returned app.
 */
export async function restartTestApp(t: TestApp): Promise<TestApp> {
  const origin = restartable.get(t);
  if (!origin) throw new Error('restartTestApp: not an app made by createTestApp');
  await t.app.close();
  await t.services.stopBackground();
  const services = origin.makeServices();
  const app = await buildApp({ config: t.config, services, db: t.db, logger: origin.logger });
  await app.ready();
  const next: TestApp = {
    ...t,
    app,
    services,
    close: async () => {
      await app.close();
      await services.stopBackground();
      await origin.drop();
    },
  };
  restartable.set(next, origin);
  return next;
}

export const STRONG_PASSWORD = 'correct horse battery staple';

/** A signed-in browser: the session cookie plus the CSRF token, as the web UI holds them. */
export interface Browser {
  cookie: string;
  csrf: string;
  userId: string;
}

export function sessionCookie(response: LightMyRequestResponse): string {
  const cookie = response.cookies.find((c) => c.name === 'marina_session');
  if (!cookie) throw new Error(`no session cookie in the answer (${response.statusCode} ${response.body})`);
  return `marina_session=${cookie.value}`;
}

export async function signIn(app: FastifyInstance, email: string, password = STRONG_PASSWORD): Promise<Browser> {
  const response = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  const body = response.json<{ csrfToken: string; user: { id: string } }>();
  return { cookie: sessionCookie(response), csrf: body.csrfToken, userId: body.user.id };
}

/** Creates a platform admin the way `marina admin create` does, and signs them in. */
export async function adminBrowser(t: TestApp, email = 'admin@example.com'): Promise<Browser> {
  await t.services.users.createPlatformAdmin(
    { actor: { kind: 'system', label: 'test' }, ip: null },
    { email, password: STRONG_PASSWORD },
  );
  return signIn(t.app, email);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A request as the signed-in browser makes it (cookie + CSRF header). */
export function as(t: TestApp, who: Browser) {
  return (method: Method, url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url,
      headers: { cookie: who.cookie, 'x-marina-csrf': who.csrf },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
}

/** A request with an API token. */
export function withToken(t: TestApp, token: string) {
  return (method: Method, url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
}

/**
 * Invites a user to an organization the way an admin does, accepts the invitation as the invitee
 * would (with a link a platform admin issues: the inviter never sees one), choosing
 * STRONG_PASSWORD for a new account or giving it for an existing one, and signs them in.
 */
export async function memberBrowser(
  t: TestApp,
  by: Browser,
  org: string,
  email: string,
  /** `member` is the old name of `viewer`, still accepted by the API. */
  role: 'owner' | 'admin' | 'developer' | 'viewer' | 'member',
): Promise<Browser> {
  const response = await as(t, by)('POST', `/api/v1/organizations/${org}/members`, { email, role });
  if (response.statusCode !== 201) throw new Error(`invite member failed: ${response.statusCode} ${response.body}`);
  const invitationId = response.json<{ invitation: { id: string } }>().invitation.id;
  const { url } = await t.services.invitations.issueLink(systemContext('test'), invitationId);
  const accepted = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/invite',
    payload: { token: url.split('#')[1], password: STRONG_PASSWORD },
  });
  if (accepted.statusCode !== 200) throw new Error(`accept invitation failed: ${accepted.statusCode} ${accepted.body}`);
  return signIn(t.app, email);
}

export async function countRows(
  db: Db,
  table:
    | 'users'
    | 'invitations'
    | 'organizations'
    | 'memberships'
    | 'api_tokens'
    | 'audit_events'
    | 'sessions'
    | 'repositories'
    | 'operations',
): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
