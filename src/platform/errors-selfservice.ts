import type { ErrorEntry } from './errors.js';

/** Self-service codes (plans and quotas, the subscription's lifecycle, sign-up, external login). */
export const selfServiceErrors = {
  MARINA_E_QUOTA_EXCEEDED: {
    status: 409,
    message: "This would go over the organization's plan.",
    hint: 'Remove what you no longer need (the message names the limit and your usage), or ask for a larger plan.',
    group: 'plans',
  },
  MARINA_E_PLAN_DOES_NOT_FIT: {
    status: 409,
    message: 'The organization does not fit in that plan.',
    hint: 'Remove or shrink what the answer lists first, then change the plan again.',
    group: 'plans',
  },
  MARINA_E_ORGANIZATION_SUSPENDED: {
    status: 409,
    message: 'The organization is suspended: nothing can be started or created.',
    hint: 'Your data is kept and backups can still be downloaded. Contact your hosting provider, or convert the trial, to resume.',
    group: 'plans',
  },
  MARINA_E_SIGNUP_CLOSED: {
    status: 404,
    message: 'Sign-up is not open on this platform.',
    hint: 'Ask the platform’s operator for an invitation.',
    group: 'signup',
  },
  MARINA_E_SIGNUP_REFUSED: {
    status: 400,
    message: 'Sign-up with this email address is not accepted.',
    hint: 'Use your work email address.',
    group: 'signup',
  },
  MARINA_E_NAME_TAKEN: {
    status: 409,
    message: 'This subdomain is taken or reserved.',
    hint: 'Pick another subdomain.',
    group: 'signup',
  },
  MARINA_E_OIDC_FAILED: {
    status: 400,
    message: 'Signing in with the external provider failed.',
    hint: 'Start the sign-in again from the login page; the details say which check failed.',
    group: 'auth',
  },
  MARINA_E_OIDC_EMAIL_UNVERIFIED: {
    status: 403,
    message: 'The external provider has not verified this email address.',
    hint: 'Verify your email address with the provider first, or sign in with your password.',
    group: 'auth',
  },
  MARINA_E_PAYMENT_PROVIDER: {
    status: 502,
    message: 'The payment provider did not accept the request.',
    hint: 'Nothing was charged. Try again in a moment, or pay another way; the message says what the provider answered.',
    group: 'billing',
  },
  MARINA_E_WEBHOOK_REFUSED: {
    status: 400,
    message: 'The provider’s message could not be verified: nothing changed.',
    hint: 'Check that the webhook secret or integration key set in Marina is the provider’s current one.',
    group: 'billing',
  },
} as const satisfies Record<string, ErrorEntry>;
