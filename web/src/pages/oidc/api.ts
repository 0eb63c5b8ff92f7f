import { queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';

/* The sign-in providers API, typed from the generated OpenAPI schema. */

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type BodyOf<T> = T extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

export type OidcProvider = Json<paths['/api/v1/oidc-providers']['get']['responses'][200]>[number];
export type OidcProviderInput = BodyOf<paths['/api/v1/oidc-providers']['post']>;
export type OidcProviderChanges = BodyOf<paths['/api/v1/oidc-providers/{id}']['patch']>;

export const oidcKeys = { providers: ['oidc-providers'] as const, login: ['auth-providers'] as const };

export const oidcProvidersQuery = () =>
  queryOptions({ queryKey: oidcKeys.providers, queryFn: () => call(api.GET('/api/v1/oidc-providers')) });

/** The login page's buttons: public, and an empty list when the answer fails (password sign-in still works). */
export const loginProvidersQuery = () =>
  queryOptions({
    queryKey: oidcKeys.login,
    queryFn: () => call(api.GET('/api/v1/auth/providers')).catch(() => []),
    staleTime: 60_000,
  });

/** What the login page says for each `/login?error=<code>` the callback sends back. */
export const oidcErrorMessages: Record<string, string> = {
  oidc_failed:
    'Signing in with the external provider failed. Start again; if it keeps failing, tell your administrator.',
  oidc_expired: 'The sign-in took too long (more than ten minutes). Start again.',
  provider_unavailable:
    'That sign-in provider cannot be reached or is no longer offered. Try again later, or sign in with your password.',
  email_unverified:
    'The provider has not verified your email address, so Marina cannot link it to your account. Verify it with the provider, or sign in with your password.',
  no_account: 'No Marina account has that email address. Ask for an invitation, or sign in with your password.',
  account_disabled: 'Your account is disabled. Ask your Marina administrator.',
  link_refused:
    'A platform administrator’s account is not linked to an external provider by email. Sign in with your password.',
  account_exists:
    'You already have a Marina account with that email address: sign in instead (with your password, or reset it).',
};
