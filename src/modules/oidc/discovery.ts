import type * as client from 'openid-client';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { Clock } from '../../platform/clock.js';
import { requireOutbound } from '../settings/outbound-settings.js';
import { loadOpenidClient } from './openid.js';

/** How long a provider's metadata and keys are reused before being asked again. */
const CACHE_MS = 10 * 60_000;

export interface OidcClientSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export interface OidcDiscoveryOptions {
  /** Plain-http issuers: only tests on loopback get this (createTestApp), never env or config. */
  allowInsecureIssuers?: true;
}

/** The port an URL connects to, written or implied. */
function portOf(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'http:' ? 80 : 443;
}

/**
 * The providers' metadata (discovery) for openid-client, cached ten minutes per provider. Every
 * request openid-client makes (discovery, keys, token) first passes the outbound guard, as
 * destinations and remotes do: an admin cannot point Marina at an internal service by naming it
 * as an issuer.
 */
export class OidcDiscovery {
  private readonly cache = new Map<string, { key: string; at: number; config: client.Configuration }>();

  constructor(private readonly deps: { clock: Clock; guard: OutboundGuard; options: OidcDiscoveryOptions }) {}

  get insecureAllowed(): boolean {
    return this.deps.options.allowInsecureIssuers === true;
  }

  /** Asks the issuer now (no cache): for checking a provider before it is saved. */
  async discover(settings: OidcClientSettings): Promise<client.Configuration> {
    const issuer = new URL(settings.issuer);
    await requireOutbound(this.deps.guard, issuer.hostname, portOf(issuer));
    const oidc = await loadOpenidClient();
    const guard = this.deps.guard;
    const guardedFetch: client.CustomFetch = async (url, options) => {
      const target = new URL(url);
      await requireOutbound(guard, target.hostname, portOf(target));
      return fetch(url, options as RequestInit);
    };
    return oidc.discovery(issuer, settings.clientId, undefined, oidc.ClientSecretBasic(settings.clientSecret), {
      [oidc.customFetch]: guardedFetch,
      execute: this.insecureAllowed ? [oidc.allowInsecureRequests] : [],
      timeout: 15,
    });
  }

  /** The cached configuration of a provider row (`version` changes when its settings do). */
  async configFor(id: string, version: string, settings: OidcClientSettings): Promise<client.Configuration> {
    const now = this.deps.clock.now().getTime();
    const key = `${version}\n${settings.issuer}\n${settings.clientId}`;
    const cached = this.cache.get(id);
    if (cached && cached.key === key && now - cached.at < CACHE_MS) return cached.config;
    const config = await this.discover(settings);
    this.cache.set(id, { key, at: now, config });
    return config;
  }

  forget(id: string): void {
    this.cache.delete(id);
  }
}
