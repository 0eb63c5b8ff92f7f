import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { as, type Browser, type TestApp } from './helpers/app.js';
import type { TestOidcProvider } from './helpers/oidc-provider.js';

/** Adds the test provider through the admin API (discovery answers) and returns its id. */
export async function addProvider(
  t: TestApp,
  admin: Browser,
  provider: TestOidcProvider,
  fields: { slug?: string; name?: string } = {},
): Promise<string> {
  const made = await as(t, admin)('POST', '/api/v1/oidc-providers', {
    slug: fields.slug ?? 'corp',
    name: fields.name ?? 'Corp SSO',
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
  });
  expect(made.statusCode, made.body).toBe(201);
  return made.json<{ id: string }>().id;
}

export interface Started {
  flowCookie: string;
  authorizationUrl: string;
}

/** What the login page's button does: GET start, keep the flow cookie, go to the provider. */
export async function startSignIn(t: TestApp, slug = 'corp'): Promise<Started> {
  const started = await t.app.inject({ method: 'GET', url: `/api/v1/auth/oidc/${slug}/start` });
  expect(started.statusCode, started.body).toBe(302);
  const cookie = started.cookies.find((c) => c.name === 'marina_oidc');
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe('Lax');
  expect(cookie?.path).toBe('/api/v1/auth/oidc');
  return { flowCookie: `marina_oidc=${cookie?.value}`, authorizationUrl: String(started.headers.location) };
}

/** The browser coming back to Marina's callback with what the provider gave it. */
export function callback(t: TestApp, flowCookie: string, back: URL): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'GET',
    url: `${back.pathname}${back.search}`,
    headers: { cookie: flowCookie },
  });
}

/** The whole trip: start, the provider's login, back to Marina. */
export async function signInThrough(
  t: TestApp,
  provider: TestOidcProvider,
  slug = 'corp',
): Promise<LightMyRequestResponse> {
  const { flowCookie, authorizationUrl } = await startSignIn(t, slug);
  const back = await provider.authorize(authorizationUrl);
  return callback(t, flowCookie, back);
}

/** The session the callback opened works: /me answers as that user. */
export async function meOf(t: TestApp, response: LightMyRequestResponse): Promise<string> {
  const session = response.cookies.find((c) => c.name === 'marina_session');
  expect(session, `no session cookie: ${response.statusCode} ${String(response.headers.location)}`).toBeDefined();
  const me = await t.app.inject({
    method: 'GET',
    url: '/api/v1/me',
    headers: { cookie: `marina_session=${session?.value}` },
  });
  expect(me.statusCode, me.body).toBe(200);
  return me.json<{ user: { email: string } }>().user.email;
}

/** The reasons of the failed external sign-ins so far (from the audit trail), sorted. */
export async function failureReasons(t: TestApp): Promise<string[]> {
  const rows = await t.db
    .selectFrom('audit_events')
    .select(['details'])
    .where('action', '=', 'user.login_failed')
    .execute();
  return rows
    .map((r) => (r.details as { method?: string; reason?: string } | null) ?? {})
    .filter((d) => d.method === 'oidc')
    .map((d) => String(d.reason))
    .sort();
}

/** The failures recorded by what a test did: the reasons now less those before. */
export async function failuresSince(t: TestApp, before: string[]): Promise<string[]> {
  const rest = await failureReasons(t);
  for (const reason of before) {
    const at = rest.indexOf(reason);
    if (at >= 0) rest.splice(at, 1);
  }
  return rest;
}
