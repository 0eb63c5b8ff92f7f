import { MarinaError } from '../../platform/errors.js';

/**
 * Caddy's admin API: Marina is the source of truth and always sends the whole configuration
 * (`POST /load`), never patches, so what Caddy runs is exactly what Marina last built.
 */
export class CaddyAdmin {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 15_000,
  ) {}

  /** Replaces Caddy's whole configuration; Caddy checks it and keeps the old one if it refuses it. */
  async load(config: unknown): Promise<void> {
    const response = await this.call('/load', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(config),
    });
    if (!response.ok) {
      const text = (await response.text()).slice(0, 2000);
      throw new MarinaError(
        'MARINA_E_PROXY_REJECTED',
        `Caddy refused the configuration (${response.status}): ${text}`,
        {
          status: response.status,
        },
      );
    }
  }

  /** The configuration Caddy runs now (null when it has none). */
  async config(): Promise<unknown> {
    const response = await this.call('/config/', { method: 'GET' });
    if (!response.ok)
      throw new MarinaError('MARINA_E_PROXY_UNAVAILABLE', `Caddy's admin API answered ${response.status}.`);
    return response.json();
  }

  private async call(path: string, init: RequestInit): Promise<Response> {
    try {
      // Caddy's admin API refuses requests whose Origin/Host it does not expect; fetch sends neither oddly.
      return await fetch(`${this.baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new MarinaError(
        'MARINA_E_PROXY_UNAVAILABLE',
        `Caddy's admin API at ${this.baseUrl} did not answer (${cause}).`,
      );
    }
  }
}
