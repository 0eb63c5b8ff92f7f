import type { ErrorEntry } from './errors.js';

/** The edge's codes (domains, certificates, access protection, the reverse proxy), in the one catalogue. */
export const edgeErrors = {
  MARINA_E_DOMAIN_INVALID: {
    status: 400,
    message: 'This name cannot be used as a custom domain.',
    hint: 'Give a full domain name you own (like shop.example.com): not a wildcard, an IP address, a single word or a name under the platform’s own domain.',
    group: 'domains',
  },
  MARINA_E_DOMAIN_NOT_VERIFIED: {
    status: 409,
    message: 'The domain is not verified yet.',
    hint: 'Create the DNS records the domain shows, wait for them to be published, then verify it again.',
    group: 'domains',
  },
  MARINA_E_CERTIFICATE_INVALID: {
    status: 400,
    message: 'The certificate or its key cannot be used for this domain.',
    hint: 'Upload the PEM certificate (with its chain) that covers the domain and is valid now, with its matching unencrypted private key.',
    group: 'domains',
  },
  MARINA_E_PROTECTION_REFUSED: {
    status: 409,
    message: 'A production instance cannot be protected this way.',
    hint: 'Protect staging and development instances only; production is public behind Odoo’s own sign-in.',
    group: 'domains',
  },
  MARINA_E_PROXY_UNAVAILABLE: {
    status: 503,
    message: 'The reverse proxy (Caddy) did not answer on its admin address.',
    hint: "Check that Caddy runs: Marina's proxy container (docker logs <namespace>-proxy-local), or the operator's Caddy at MARINA_CADDY_ADMIN_URL. Marina loads its configuration again by itself.",
    group: 'platform',
  },
  MARINA_E_PROXY_REJECTED: {
    status: 500,
    message: 'The reverse proxy (Caddy) refused the configuration Marina gave it.',
    hint: "Read Caddy's answer in Marina's log (it names the part it refused); an uploaded certificate or a wildcard certificate file is the usual cause.",
    group: 'platform',
  },
  MARINA_E_NO_FREE_EDGE_ADDRESS: {
    status: 503,
    message: "No free address is left in the edge's loopback range (127.77.0.0/16).",
    hint: 'Delete unused instances.',
    group: 'platform',
  },
} as const satisfies Record<string, ErrorEntry>;
