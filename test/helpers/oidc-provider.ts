import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

/** Who signs in at the provider next: the test decides, as a person would at its login form. */
export interface TestAccount {
  sub: string;
  email: string;
  email_verified: boolean;
  name?: string;
}

/**
 * What the provider does to the ID token it answers at its token endpoint: re-signed with the
 * provider's own key (`resign`, a control), or also with another audience (`audience`).
 */
export type Tamper = { kind: 'resign' } | { kind: 'audience'; aud: string };

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The account the next login interaction signs in. */
  signInAs(account: TestAccount): void;
  tamper: Tamper | null;
  /** Requests to the token endpoint so far (a replayed state must not reach it). */
  tokenRequests: number;
  /**
   * Follows a browser from the authorization address through the login interaction and back:
   * returns the address the provider sends it to (Marina's callback, with code and state).
   */
  authorize(authorizationUrl: string): Promise<URL>;
  close(): Promise<void>;
}

const ID_TOKEN_ALG = 'RS256';

/**
 * A real `oidc-provider` 9 on loopback with one confidential client whose redirect URI is
 * Marina's callback. Its signing key is made here, so a test can re-sign an ID token with it. The
 * login interaction signs in the account the test named; consent is given at once
 * (`loadExistingGrant`), as a provider does for a first-party client.
 */
export async function startOidcProvider(options: {
  redirectUri: string;
  tls?: { certificatePem: string; keyPem: string };
  /** false: email claims only from the userinfo endpoint (the specification's default for the code flow). */
  claimsInIdToken?: boolean;
}): Promise<TestOidcProvider> {
  const { privateKey } = await generateKeyPair(ID_TOKEN_ALG, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: ID_TOKEN_ALG, use: 'sig' };
  const accounts = new Map<string, TestAccount>();
  let next: TestAccount | null = null;
  const clientId = 'marina';
  const clientSecret = 'marina-test-client-secret-0123456789';

  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.certificatePem, key: options.tls.keyPem })
    : createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['oidc test cookie key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Claims in the ID token, as Google's and Keycloak's are (unless the test asks otherwise).
    conformIdTokenClaims: options.claimsInIdToken === false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ ...account }) };
    },
    loadExistingGrant: async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      const client = ctx.oidc.client;
      if (!accountId || !client) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
      grant.addOIDCScope('openid email profile');
      grant.addOIDCClaims(['email', 'email_verified', 'name']);
      await grant.save();
      return grant;
    },
  });

  const state = {
    tamper: null as Tamper | null,
    tokenRequests: 0,
  };

  // The login interaction: no form, the account the test chose.
  provider.use(async (ctx: KoaContextWithOIDC, nextMiddleware) => {
    if (!ctx.path.startsWith('/interaction/')) return nextMiddleware();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'login') throw new Error(`unexpected prompt ${details.prompt.name}`);
    const account = next;
    if (!account) throw new Error('the test did not say who signs in (signInAs)');
    accounts.set(account.sub, account);
    const to = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false },
    );
    ctx.status = 303;
    ctx.redirect(to);
  });

  // The token endpoint's answer, re-signed with the provider's key when the test asks.
  provider.use(async (ctx: KoaContextWithOIDC, nextMiddleware) => {
    if (ctx.path === '/token') state.tokenRequests += 1;
    await nextMiddleware();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path !== '/token' || !state.tamper || !body?.id_token) return;
    const header = decodeProtectedHeader(body.id_token);
    const claims = decodeJwt(body.id_token);
    if (state.tamper.kind === 'audience') claims.aud = state.tamper.aud;
    body.id_token = await new SignJWT(claims)
      .setProtectedHeader({ alg: header.alg ?? ID_TOKEN_ALG, kid: header.kid, typ: header.typ })
      .sign(privateKey);
  });

  server.on('request', provider.callback());

  /** A browser's cookies at the provider (one host; paths are not needed here). */
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs(account) {
      next = account;
    },
    get tamper() {
      return state.tamper;
    },
    set tamper(value: Tamper | null) {
      state.tamper = value;
    },
    get tokenRequests() {
      return state.tokenRequests;
    },
    async authorize(authorizationUrl) {
      jar.clear();
      let url = new URL(authorizationUrl);
      for (let hop = 0; hop < 10; hop++) {
        if (url.origin !== issuer) return url;
        const response = await fetch(url, { redirect: 'manual', headers: { cookie: cookieHeader() } });
        for (const line of response.headers.getSetCookie()) {
          const [pair] = line.split(';');
          const at = pair?.indexOf('=') ?? -1;
          if (pair && at > 0) jar.set(pair.slice(0, at), pair.slice(at + 1));
        }
        const location = response.headers.get('location');
        if (!location) throw new Error(`the provider answered ${response.status}: ${await response.text()}`);
        url = new URL(location, url);
      }
      throw new Error('too many redirects at the provider');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
