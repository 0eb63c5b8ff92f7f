import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../../../src/api/schema';
import { ApiError, toApiError } from './errors';

export const CSRF_HEADER = 'X-Marina-CSRF';

/** Endpoints where 401 means "wrong credentials or link", not "your session is gone". */
const ANONYMOUS_PATHS = new Set(['/api/v1/auth/login', '/api/v1/setup', '/api/v1/auth/invite']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

let csrfToken: string | null = null;
let sessionEndedListener: () => void = () => {};

/** The session's CSRF token, from GET /me or from the login and setup answers. */
export function rememberCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** For requests made outside openapi-fetch (uploads with progress): the header writes need. */
export function csrfHeader(): Record<string, string> {
  return csrfToken ? { [CSRF_HEADER]: csrfToken } : {};
}

/** A 401 seen outside openapi-fetch: the session is gone, as the middleware would conclude. */
export function sessionEnded(): void {
  csrfToken = null;
  sessionEndedListener();
}

export function onSessionEnded(listener: () => void): () => void {
  sessionEndedListener = listener;
  return () => {
    if (sessionEndedListener === listener) sessionEndedListener = () => {};
  };
}

const session: Middleware = {
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method) && csrfToken) request.headers.set(CSRF_HEADER, csrfToken);
    return request;
  },
  async onResponse({ response, schemaPath }) {
    if (response.status !== 401 || ANONYMOUS_PATHS.has(schemaPath)) return response;
    csrfToken = null;
    sessionEndedListener();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(session);

interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Awaits an openapi-fetch call and returns its data, or throws an ApiError users can read. */
export async function call<T>(request: Promise<Outcome<T>>): Promise<T> {
  let outcome: Outcome<T>;
  try {
    outcome = await request;
  } catch {
    throw new ApiError(0, 'MARINA_E_NETWORK', 'Marina cannot be reached; check your connection and try again.');
  }
  if (!outcome.response.ok) throw toApiError(outcome.response.status, outcome.error);
  return outcome.data as T;
}
