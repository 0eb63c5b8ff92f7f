import type * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { OidcPurpose, User } from '../../db/schema.js';
import type { AuditService } from '../../platform/audit/service.js';
import { addMinutes, type Clock } from '../../platform/clock.js';
import type { AnonymousContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { randomSecret, sha256 } from '../../platform/secrets/secrets.js';
import { isUuid, limits } from '../../platform/validation.js';
import type { AuthService, LoginResult } from '../identity/auth.js';
import type { SignupService } from '../signup/index.js';
import type { OidcDiscovery } from './discovery.js';
import { failureReason, OidcFlowError } from './failures.js';
import { loadOpenidClient } from './openid.js';
import type { OidcProviderService } from './providers.js';

/** How long a browser has to come back from the provider. */
export const FLOW_MINUTES = 10;
/** Finished and abandoned flows are deleted this long after they expired. */
const KEEP_MINUTES = 24 * 60;

export const CALLBACK_PATH = '/api/v1/auth/oidc/callback';

export interface OidcStart {
  /** The provider's authorization address, to send the browser to. */
  redirectTo: URL;
  /** The `marina_oidc` cookie's value: only this browser can come back with the state. */
  browserSecret: string;
  expiresAt: Date;
}

/** A finished flow: the session, and where the browser goes (a sign-up's welcome page, else `/`). */
export type OidcResult = LoginResult & { redirectTo: string };

export interface OidcFlowServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  logger: Logger;
  auth: AuthService;
  /** Completes a sign-up through a provider; without it, sign-up through a provider is refused. */
  signups?: Pick<SignupService, 'completeDraft'>;
  providers: OidcProviderService;
  discovery: OidcDiscovery;
  /** Marina's public address: the redirect URI registered at the provider is built from it. */
  publicUrl: string;
}

/** Signing in through an external provider (authorization code flow with PKCE and a nonce). */
export class OidcFlowService {
  constructor(private readonly deps: OidcFlowServiceDeps) {}

  get redirectUri(): string {
    return `${this.deps.publicUrl.replace(/\/$/, '')}${CALLBACK_PATH}`;
  }

  private async configOf(provider: {
    id: string;
    updated_at: Date;
    issuer: string;
    client_id: string;
    secret: string;
  }) {
    return this.deps.discovery.configFor(provider.id, provider.updated_at.toISOString(), {
      issuer: provider.issuer,
      clientId: provider.client_id,
      clientSecret: provider.secret,
    });
  }

  async start(slug: string, purpose: OidcPurpose, signupId?: string): Promise<OidcStart> {
    const provider = await this.deps.providers.forSignIn({ slug });
    if (!provider) throw notFound('Sign-in provider');
    // A sign-up rides along as its draft (POST /signup with `provider`), for this provider only.
    let signup: string | null = null;
    if (purpose === 'signup' && signupId === undefined)
      throw new MarinaError('MARINA_E_VALIDATION', 'A sign-up through a provider starts on the sign-up page.', {
        field: 'signup',
      });
    if (signupId !== undefined) {
      const draft =
        signupId && isUuid(signupId) && this.deps.signups
          ? await this.deps.db
              .selectFrom('signups')
              .innerJoin('oidc_providers', 'oidc_providers.id', 'signups.oidc_provider_id')
              .select('signups.id')
              .where('signups.id', '=', signupId)
              .where('signups.status', '=', 'draft')
              .where('signups.expires_at', '>', this.deps.clock.now())
              .where('oidc_providers.id', '=', provider.id)
              .where('oidc_providers.allow_signup', '=', true)
              .executeTakeFirst()
          : undefined;
      if (!draft) throw new OidcFlowError('oidc_expired', 'expired');
      signup = draft.id;
    }
    let config: client.Configuration;
    try {
      config = await this.configOf(provider);
    } catch (error) {
      // Down, renamed, or now refused by the outbound guard: the login page says so.
      this.deps.logger.warn({ provider: slug, err: (error as Error).message }, 'oidc: discovery failed');
      throw new OidcFlowError('provider_unavailable', 'provider_unavailable');
    }
    const oidc = await loadOpenidClient();
    const now = this.deps.clock.now();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const browserSecret = randomSecret();
    const expiresAt = addMinutes(now, FLOW_MINUTES);
    await this.deps.db.deleteFrom('oidc_logins').where('expires_at', '<', addMinutes(now, -KEEP_MINUTES)).execute();
    await this.deps.db
      .insertInto('oidc_logins')
      .values({
        browser_hash: sha256(browserSecret),
        state_hash: sha256(state),
        nonce,
        code_verifier: verifier,
        provider_id: provider.id,
        purpose: signup ? 'signup' : purpose,
        signup_id: signup,
        created_at: now,
        expires_at: expiresAt,
      })
      .execute();
    const redirectTo = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: provider.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { redirectTo, browserSecret, expiresAt };
  }

  /**
   * The provider sent the browser back. The flow is claimed before the code is exchanged, so a
   * state is good once; the code is exchanged with the flow's PKCE verifier, and openid-client
   * checks the ID token's signature, issuer, audience, expiry and nonce.
   */
  async callback(
    ctx: AnonymousContext,
    browserSecret: string | undefined,
    query: URLSearchParams,
    userAgent: string | null,
  ): Promise<OidcResult> {
    const state = query.get('state');
    if (!browserSecret || !state || state.length > 200 || browserSecret.length > 200)
      return this.fail(ctx, new OidcFlowError('oidc_failed', 'state'));
    const now = this.deps.clock.now();
    const flow = await this.deps.db
      .updateTable('oidc_logins')
      .set({ used_at: now })
      .where('state_hash', '=', sha256(state))
      .where('browser_hash', '=', sha256(browserSecret))
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
    if (!flow) return this.fail(ctx, await this.whyUnclaimed(state, browserSecret));

    const provider = await this.deps.providers.forSignIn({ id: flow.provider_id });
    if (!provider) return this.fail(ctx, new OidcFlowError('provider_unavailable', 'provider_unavailable'));
    const label = `${provider.slug}`;
    const oidc = await loadOpenidClient();
    let claims: client.IDToken;
    try {
      const config = await this.configOf(provider);
      const currentUrl = new URL(this.redirectUri);
      currentUrl.search = query.toString();
      const tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: flow.code_verifier,
        expectedState: state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const found = tokens.claims();
      if (!found) throw new Error('no ID token');
      claims = found;
      // Some providers keep the email out of the ID token (OpenID Connect's default for the code
      // flow): then it comes from the userinfo endpoint, for the same subject.
      if (claims.email === undefined && tokens.access_token) {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
        claims = { ...claims, email: info.email, email_verified: info.email_verified };
      }
    } catch (error) {
      this.deps.logger.warn({ provider: label, err: (error as Error).message }, 'oidc: the code exchange failed');
      return this.fail(ctx, new OidcFlowError('oidc_failed', failureReason(error, oidc)), label);
    }

    const identity = await this.deps.db
      .selectFrom('user_identities')
      .innerJoin('users', 'users.id', 'user_identities.user_id')
      .selectAll('users')
      .where('user_identities.provider_id', '=', provider.id)
      .where('user_identities.subject', '=', claims.sub)
      .executeTakeFirst();
    // A sign-up makes a new account only: someone who has one signs in instead (nothing is made).
    if (identity && flow.signup_id) return this.fail(ctx, new OidcFlowError('account_exists', 'account_exists'), label);
    if (identity) return this.signIn(ctx, identity, userAgent, label);

    // Linking by email trusts the provider's word that the address is the person's.
    const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
    if (claims.email_verified !== true || email === '' || email.length > limits.email)
      return this.fail(ctx, new OidcFlowError('email_unverified', 'email_unverified'), label);
    const user = await this.deps.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    if (flow.signup_id) {
      if (user) return this.fail(ctx, new OidcFlowError('account_exists', 'account_exists'), email);
      return this.completeSignup(
        ctx,
        flow.signup_id,
        { providerId: provider.id, subject: claims.sub, email },
        userAgent,
      );
    }
    if (!user) return this.fail(ctx, new OidcFlowError('no_account', 'no_account'), email);
    if (user.disabled_at) return this.refuseDisabled(ctx, user, label);
    // A provider's word is not enough for the platform's keys: a badly set up or self-service
    // provider would hand them to whoever registered the address there. Admins sign in with their password.
    if (user.is_platform_admin) return this.fail(ctx, new OidcFlowError('link_refused', 'platform_admin'), email);
    return this.deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('user_identities')
        .values({ user_id: user.id, provider_id: provider.id, subject: claims.sub, email, linked_at: now })
        .onConflict((oc) => oc.columns(['provider_id', 'subject']).doNothing())
        .execute();
      await this.deps.audit.record(
        { actor: null, ip: ctx.ip, label: user.email },
        {
          action: 'user.link_identity',
          target: { type: 'user', id: user.id, label: user.email },
          details: { provider: provider.slug, issuer: provider.issuer, subject: claims.sub },
        },
        trx,
      );
      return { ...(await this.deps.auth.openSession(trx, user, ctx, userAgent)), redirectTo: '/' };
    });
  }

  /** The draft takes the provider's verified address and is completed as a verified link would be. */
  private async completeSignup(
    ctx: AnonymousContext,
    signupId: string,
    identity: { providerId: string; subject: string; email: string },
    userAgent: string | null,
  ): Promise<OidcResult> {
    if (!this.deps.signups) return this.fail(ctx, new OidcFlowError('oidc_expired', 'expired'), identity.email);
    const done = await this.deps.signups.completeDraft(ctx, signupId, identity, userAgent);
    if (!done) return this.fail(ctx, new OidcFlowError('oidc_expired', 'expired'), identity.email);
    const welcome = `/signup/welcome?instance=${done.instanceId}&job=${done.jobId}#credentials=${encodeURIComponent(done.credentialsToken)}`;
    return { ...done.session, redirectTo: welcome };
  }

  private async signIn(ctx: AnonymousContext, user: User, userAgent: string | null, provider: string) {
    if (user.disabled_at) return this.refuseDisabled(ctx, user, provider);
    const session = await this.deps.db
      .transaction()
      .execute((trx) => this.deps.auth.openSession(trx, user, ctx, userAgent));
    return { ...session, redirectTo: '/' };
  }

  private async refuseDisabled(ctx: AnonymousContext, user: User, provider: string): Promise<never> {
    await this.deps.audit.record(
      { actor: null, ip: ctx.ip, label: user.email },
      {
        action: 'user.login_refused',
        target: { type: 'user', id: user.id, label: user.email },
        details: { reason: 'disabled', method: 'oidc', provider },
      },
    );
    throw new OidcFlowError('account_disabled', 'disabled');
  }

  /** Says which check an unclaimed state failed: unknown (or another browser's), used, or expired. */
  private async whyUnclaimed(state: string, browserSecret: string): Promise<OidcFlowError> {
    const row = await this.deps.db
      .selectFrom('oidc_logins')
      .select(['used_at', 'expires_at', 'browser_hash'])
      .where('state_hash', '=', sha256(state))
      .executeTakeFirst();
    if (!row || row.browser_hash !== sha256(browserSecret)) return new OidcFlowError('oidc_failed', 'state');
    if (row.used_at) return new OidcFlowError('oidc_failed', 'replayed');
    return new OidcFlowError('oidc_expired', 'expired');
  }

  /** Logs and audits the failure (`MARINA_E_OIDC_FAILED` and its reason; never a token), then throws it. */
  private async fail(ctx: AnonymousContext, error: OidcFlowError, label?: string): Promise<never> {
    const code =
      error.code === 'email_unverified'
        ? 'MARINA_E_OIDC_EMAIL_UNVERIFIED'
        : error.code === 'account_disabled'
          ? 'MARINA_E_ACCOUNT_DISABLED'
          : 'MARINA_E_OIDC_FAILED';
    this.deps.logger.warn({ code, reason: error.reason, provider: label }, 'oidc: sign-in failed');
    await this.deps.audit.record(
      { actor: null, ip: ctx.ip, label: label ?? 'oidc' },
      { action: 'user.login_failed', details: { method: 'oidc', code, reason: error.reason } },
    );
    throw error;
  }
}
