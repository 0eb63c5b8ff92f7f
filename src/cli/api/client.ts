import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from '../../api/schema.js';
import type { ErrorBody, Method, Params } from './types.js';

/** An error Marina answered (or the lack of an answer: status 0), as the CLI reports it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  url: string;
  token?: string;
  cookie?: string;
  csrf?: string;
}

/** The parameters a documented path can have, whatever its operation. */
type PathAndQuery = { path?: object; query?: object };

/** What an openapi-fetch call resolves to: its data on success, its error body otherwise. */
interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Marina's API: typed calls through `api` (openapi-fetch), raw streams for what JSON cannot carry. */
export class MarinaClient {
  #api: Client<paths> | undefined;

  constructor(private readonly options: ClientOptions) {}

  get url(): string {
    return this.options.url;
  }

  /**
   * The typed client, made on first use: a URL that does not parse fails on the first request, as
   * `new URL` says it. Paths resolve against the origin (`/api/v1/…`), whatever path the URL has.
   */
  get api(): Client<paths> {
    if (!this.#api) {
      const baseUrl = new URL('/', this.options.url).href.replace(/\/$/, '');
      this.#api = createClient<paths>({ baseUrl, headers: { accept: 'application/json', ...this.credentials() } });
      this.#api.use(this.transport());
    }
    return this.#api;
  }

  /** Awaits a call of `api` and returns its data, or throws the ApiError Marina's answer describes. */
  async call<T>(request: Promise<Outcome<T>>): Promise<T> {
    return (await this.answer(request)).data;
  }

  /** As `call`, with the answer's headers (a session cookie). */
  async answer<T>(request: Promise<Outcome<T>>): Promise<{ data: T; headers: Headers }> {
    const { data, error, response } = await request;
    if (!response.ok) {
      const body = (error as Partial<ErrorBody> | undefined)?.error;
      throw new ApiError(
        response.status,
        body?.code ?? `HTTP_${response.status}`,
        body?.message ?? response.statusText,
        body?.details,
      );
    }
    return { data: data as T, headers: response.headers };
  }

  /** An open Server-Sent Events stream of a documented path, as raw chunks. */
  async stream<P extends keyof paths>(path: P, params: Params<P, 'get'>): Promise<AsyncIterable<Uint8Array>> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let response: Response;
    try {
      response = await fetch(this.urlOf(path, params as PathAndQuery), { headers });
    } catch (error) {
      throw this.unreachable(error);
    }
    if (!response.ok || !response.body) throw await failure(response);
    return response.body as unknown as AsyncIterable<Uint8Array>;
  }

  /** A raw request of a documented path (file downloads and uploads): the caller reads the body as a stream. */
  async raw<P extends keyof paths, M extends Method>(
    method: M,
    path: P,
    params: Params<P, M>,
    init: { headers?: Record<string, string>; body?: RequestInit['body'] } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers, ...this.credentials() };
    let response: Response;
    try {
      response = await fetch(this.urlOf(path, params as PathAndQuery), {
        method: method.toUpperCase(),
        headers,
        body: init.body,
        ...(init.body ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (error) {
      throw this.unreachable(error);
    }
    if (!response.ok) throw await failure(response);
    return response;
  }

  private credentials(): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (this.options.cookie) headers.cookie = this.options.cookie;
    if (this.options.csrf) headers['x-marina-csrf'] = this.options.csrf;
    return headers;
  }

  /** Turns a failed connection into the CLI's "unreachable" error, and a non-JSON answer into "not Marina". */
  private transport(): Middleware {
    const url = this.options.url;
    return {
      onError: ({ error }) => this.unreachable(error, ' Is it running? Check --url or MARINA_URL.'),
      async onResponse({ response }) {
        const text = await response.clone().text();
        if (!text) return undefined;
        try {
          JSON.parse(text);
        } catch {
          throw new ApiError(
            response.status,
            'MARINA_E_BAD_RESPONSE',
            `${url} did not answer like Marina (HTTP ${response.status}).`,
          );
        }
        return undefined;
      },
    };
  }

  private unreachable(error: unknown, hint = ''): ApiError {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    return new ApiError(0, 'MARINA_E_UNREACHABLE', `Cannot reach Marina at ${this.options.url} (${cause}).${hint}`);
  }

  /** `path` with its `{name}` parameters filled in and its query appended, against Marina's origin. */
  private urlOf(path: string, params: PathAndQuery): URL {
    const pathValues = (params.path ?? {}) as Record<string, string>;
    const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(pathValues[name] ?? ''));
    const url = new URL(filled, this.options.url);
    for (const [key, value] of Object.entries(params.query ?? {}))
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    return url;
  }
}

/** The ApiError of a raw request's failed answer. */
async function failure(response: Response): Promise<ApiError> {
  const body = ((await response.json().catch(() => ({}))) as Partial<ErrorBody>).error;
  return new ApiError(response.status, body?.code ?? `HTTP_${response.status}`, body?.message ?? response.statusText);
}
