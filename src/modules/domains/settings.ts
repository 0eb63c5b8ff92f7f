import type { MarinaConfig } from '../../config.js';
import type { DomainCertificateState } from '../../db/schema.js';

/** What the domains module needs of the edge's configuration (src/config.ts, owner: edge-core). */
export interface DomainsSettings {
  /** MARINA_BASE_DOMAIN: custom domains need the edge; null when it is off. */
  baseDomain: string | null;
  /** MARINA_DNS_RESOLVER (host:port) used to verify domains; null: the system's. */
  dnsResolver: string | null;
  /** MARINA_EDGE_ADDRESSES: where apex names point (A/AAAA). */
  proxyAddresses: string[];
  /** MARINA_EDGE_HTTPS_PORT: part of the URLs when it is not 443. */
  httpsPort: number;
}

/** The edge as the domains module uses it (src/modules/edge, owner: edge-core). */
export interface EdgeLink {
  /** Reloads the proxy's configuration soon (coalesced): primary names, certificates, protection. */
  sync(reason: string): void;
}

/** A real TLS handshake with the edge for a name (src/modules/edge/certificate-probe.ts). */
export type CertificateProbe = (hostname: string) => Promise<DomainCertificateState>;

/** The edge's settings (src/config.ts, owner: edge-core); everything here stays off without a base domain. */
export function domainsSettings(config: Pick<MarinaConfig, 'edge'>): DomainsSettings {
  const edge = config.edge;
  const resolver = edge?.dnsResolver;
  return {
    baseDomain: edge?.baseDomain ?? null,
    dnsResolver: resolver
      ? `${resolver.host.includes(':') ? `[${resolver.host}]` : resolver.host}:${resolver.port}`
      : null,
    proxyAddresses: edge?.addresses ?? [],
    httpsPort: edge?.httpsPort ?? 443,
  };
}

/** `https://<name>`, with the port when the edge does not listen on 443. */
export const httpsUrl = (settings: DomainsSettings, hostname: string): string =>
  `https://${hostname}${settings.httpsPort === 443 ? '' : `:${settings.httpsPort}`}`;
