import { queryOptions } from '@tanstack/react-query';
import { csrfHeader, sessionEnded } from '../../api/client';
import { ApiError, toApiError } from '../../api/errors';

/*
 * The sign-up API (contract of #19 part 2). Typed here by hand, after the contract, so these pages
 * do not hang on the generated schema while the routes land; the server validates every body.
 */

export interface SignupPrice {
  currency: string;
  period: string;
  amountMinor: number;
}

export interface SignupPlan {
  id: string;
  name: string;
  description: string | null;
  trialDays: number;
  prices: SignupPrice[];
}

export interface SignupTemplate {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  odooVersion: string;
}

export interface SignupOffer {
  open: boolean;
  baseDomain: string;
  plans: SignupPlan[];
  templates: SignupTemplate[];
  providers: { slug: string; name: string }[];
  passwordMinLength: number;
}

export interface SubdomainCheck {
  name: string;
  hostname: string;
  available: boolean;
  reason: null | 'invalid' | 'reserved' | 'taken';
  message?: string;
}

export interface SignupRequest {
  organizationName: string;
  subdomain: string;
  planId: string;
  templateId?: string;
  locale?: string;
  email?: string;
  provider?: string;
}

export type SignupAnswer = { status: 'sent' } | { status: 'redirect'; url: string };

export interface Verified {
  csrfToken: string;
  organization: { id: string; slug: string; name: string };
  instanceId: string;
  jobId: string;
  credentialsToken: string;
}

export interface OpenedCredentials {
  instance: { id: string; name: string; url: string | null };
  login: string;
  password: string;
}

export interface SignupSettings {
  enabled: boolean;
  refusedDomains: string[];
  reservedNames: string[];
  perAddressPerDay: number;
  perDomainPerDay: number;
  perIpPerHour: number;
}

/** One JSON request; a non-2xx answer throws the ApiError the rest of the web app reads. */
export async function request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      credentials: 'same-origin',
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(method === 'GET' ? {} : csrfHeader()),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'MARINA_E_NETWORK', 'Marina cannot be reached; check your connection and try again.');
  }
  const answer: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    // Only signed-in routes can lose a session; the public ones answer 401 for a wrong link.
    if (response.status === 401 && path.startsWith('/settings/')) sessionEnded();
    throw toApiError(response.status, answer);
  }
  return answer as T;
}

export const signupKeys = {
  offer: ['signup', 'offer'] as const,
  settings: ['signup', 'settings'] as const,
};

/** What the sign-up page offers; `null` when sign-up is closed (404), so callers can tell closed from broken. */
export const signupOfferQuery = () =>
  queryOptions({
    queryKey: signupKeys.offer,
    queryFn: async (): Promise<SignupOffer | null> => {
      try {
        return await request<SignupOffer>('GET', '/signup');
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    staleTime: 60_000,
    retry: false,
  });

export const checkSubdomain = (name: string, signal?: AbortSignal) =>
  fetch(`/api/v1/signup/subdomain?name=${encodeURIComponent(name)}`, { signal, credentials: 'same-origin' }).then(
    async (response) => {
      const answer: unknown = await response.json().catch(() => null);
      if (!response.ok) throw toApiError(response.status, answer);
      return answer as SubdomainCheck;
    },
  );

export const signupSettingsQuery = () =>
  queryOptions({
    queryKey: signupKeys.settings,
    queryFn: () => request<SignupSettings>('GET', '/settings/signup'),
  });
