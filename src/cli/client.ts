/** A small client for Marina's HTTP API, as the CLI uses it. */
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

export class MarinaClient {
  constructor(private readonly options: ClientOptions) {}

  get url(): string {
    return this.options.url;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    query?: Record<string, string | number | undefined>,
  ): Promise<{ data: T; headers: Headers }> {
    const url = new URL(`/api/v1${path}`, this.options.url);
    for (const [key, value] of Object.entries(query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (this.options.cookie) headers.cookie = this.options.cookie;
    if (this.options.csrf) headers['x-marina-csrf'] = this.options.csrf;
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new ApiError(
        0,
        'MARINA_E_UNREACHABLE',
        `Cannot reach Marina at ${this.options.url} (${cause}). Is it running? Check --url or MARINA_URL.`,
      );
    }
    const text = await response.text();
    let data: unknown;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        throw new ApiError(
          response.status,
          'MARINA_E_BAD_RESPONSE',
          `${this.options.url} did not answer like Marina (HTTP ${response.status}).`,
        );
      }
    }
    if (!response.ok) {
      const error = (data as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })?.error;
      throw new ApiError(
        response.status,
        error?.code ?? `HTTP_${response.status}`,
        error?.message ?? response.statusText,
        error?.details,
      );
    }
    return { data: data as T, headers: response.headers };
  }

  /** An open Server-Sent Events stream, as raw chunks. */
  async stream(path: string): Promise<AsyncIterable<Uint8Array>> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let response: Response;
    try {
      response = await fetch(new URL(`/api/v1${path}`, this.options.url), { headers });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new ApiError(0, 'MARINA_E_UNREACHABLE', `Cannot reach Marina at ${this.options.url} (${cause}).`);
    }
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new ApiError(
        response.status,
        body.error?.code ?? `HTTP_${response.status}`,
        body.error?.message ?? response.statusText,
      );
    }
    return response.body as unknown as AsyncIterable<Uint8Array>;
  }

  /** A raw request (file downloads and uploads): the caller reads the body as a stream. */
  async raw(
    method: string,
    path: string,
    init: {
      headers?: Record<string, string>;
      body?: RequestInit['body'];
      query?: Record<string, string | undefined>;
    } = {},
  ): Promise<Response> {
    const url = new URL(`/api/v1${path}`, this.options.url);
    for (const [key, value] of Object.entries(init.query ?? {}))
      if (value !== undefined) url.searchParams.set(key, value);
    const headers: Record<string, string> = { ...init.headers };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (this.options.cookie) headers.cookie = this.options.cookie;
    if (this.options.csrf) headers['x-marina-csrf'] = this.options.csrf;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: init.body,
        ...(init.body ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new ApiError(0, 'MARINA_E_UNREACHABLE', `Cannot reach Marina at ${this.options.url} (${cause}).`);
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new ApiError(
        response.status,
        body.error?.code ?? `HTTP_${response.status}`,
        body.error?.message ?? response.statusText,
      );
    }
    return response;
  }

  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T> {
    return this.request<T>('GET', path, undefined, query).then((r) => r.data);
  }
  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body).then((r) => r.data);
  }
  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path).then((r) => r.data);
  }
}
