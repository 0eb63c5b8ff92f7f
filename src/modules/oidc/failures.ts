import type { OpenidClient } from './openid.js';

/**
 * Why a sign-in through a provider failed, as the log and the audit say it (`MARINA_E_OIDC_FAILED`
 * details). Never the token or the code.
 */
export type OidcFailureReason =
  | 'state'
  | 'replayed'
  | 'expired'
  | 'provider'
  | 'nonce'
  | 'pkce'
  | 'audience'
  | 'issuer'
  | 'signature'
  | 'exchange';

/** Where the browser is sent back to: `/login?error=<code>` (the login page explains each). */
export type OidcErrorCode =
  | 'oidc_failed'
  | 'oidc_expired'
  | 'provider_unavailable'
  | 'email_unverified'
  | 'no_account'
  | 'account_disabled'
  | 'link_refused'
  /** A sign-up through a provider whose address (or identity) already has an account: sign in instead. */
  | 'account_exists';

export class OidcFlowError extends Error {
  constructor(
    readonly code: OidcErrorCode,
    readonly reason:
      | OidcFailureReason
      | 'email_unverified'
      | 'no_account'
      | 'disabled'
      | 'provider_unavailable'
      | 'platform_admin'
      | 'account_exists',
  ) {
    super(`${code}: ${reason}`);
    this.name = 'OidcFlowError';
  }
}

const claimReasons: Record<string, OidcFailureReason> = {
  aud: 'audience',
  azp: 'audience',
  iss: 'issuer',
  nonce: 'nonce',
};

/** Names the check openid-client (`oidc`, once loaded) refused, from its error and the errors it wraps. */
export function failureReason(
  error: unknown,
  oidc: Pick<typeof OpenidClient, 'AuthorizationResponseError' | 'ResponseBodyError'>,
): OidcFailureReason {
  if (error instanceof oidc.AuthorizationResponseError) return 'provider';
  if (error instanceof oidc.ResponseBodyError) {
    // The code is fresh, exchanged once (the flow is claimed first) with Marina's own redirect URI
    // and client: what the provider can still refuse as a bad grant is the PKCE verifier. Providers
    // rarely say more (oidc-provider answers "grant request is invalid").
    return error.error === 'invalid_grant' ? 'pkce' : 'exchange';
  }
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const claim = (e as { claim?: unknown }).claim;
    if (typeof claim === 'string' && claim in claimReasons) return claimReasons[claim] as OidcFailureReason;
    if (e instanceof Error && /signature/i.test(e.message)) return 'signature';
  }
  return 'exchange';
}
