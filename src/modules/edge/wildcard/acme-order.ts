import { X509Certificate } from 'node:crypto';
import { Agent } from 'node:https';
import type * as AcmeClient from 'acme-client';
import type { Logger } from 'pino';
import { lazyImport } from '../../../platform/lazy.js';

/**
 * One ACME order for `*.<domain>` and `<domain>`, answered by DNS-01 (RFC 8555 §8.4) through the
 * `publish` dependency (the operator's DNS): both challenges' TXT values at `_acme-challenge.<domain>`
 * at once, removed again whatever happens. acme-client speaks ACME; Marina decides everything else.
 */

export interface AcmeAccount {
  /** PEM private key of the account (made on first use, then kept). */
  key: string;
  /** The account's URL at the CA, once known (spares a lookup). */
  url: string | null;
}

/** Writes and removes the `_acme-challenge` TXT values (RFC 2136 through TSIG in Marina). */
export interface ChallengePublisher {
  add(name: string, values: string[]): Promise<void>;
  remove(name: string, values: string[]): Promise<void>;
}

export interface WildcardOrderInput {
  directoryUrl: string;
  /** PEM of the CA behind the directory's own HTTPS (MARINA_ACME_CA_ROOTS), when private. */
  caRootsPem: string | undefined;
  email: string | undefined;
  domain: string;
  account: AcmeAccount;
  publish: ChallengePublisher;
  logger: Logger;
}

export interface ObtainedCertificate {
  certificatePem: string;
  keyPem: string;
  notAfter: Date;
  /** The account, with its URL now known. */
  account: AcmeAccount;
}

/** acme-client (with axios, node-forge and its X.509 libraries) is loaded for the first order. */
const loadAcme = lazyImport(() => import('acme-client'));

/** A fresh account key (ECDSA P-256), for a directory Marina has no account with yet. */
export async function newAccountKey(): Promise<string> {
  const acme = await loadAcme();
  return (await acme.crypto.createPrivateEcdsaKey()).toString();
}

/**
 * acme-client sends every request through one shared axios instance: the CA roots are given per
 * directory origin, so two directories (tests, a change of CA) never share a trust.
 */
const trustedOrigins = new Map<string, Agent>();
let interceptorInstalled = false;
function trustDirectory(acme: typeof AcmeClient, directoryUrl: string, caRootsPem: string | undefined): void {
  const origin = new URL(directoryUrl).origin;
  if (caRootsPem === undefined) trustedOrigins.delete(origin);
  else trustedOrigins.set(origin, new Agent({ ca: caRootsPem, keepAlive: false }));
  if (interceptorInstalled) return;
  interceptorInstalled = true;
  acme.axios.interceptors.request.use((config) => {
    const agent = config.url ? trustedOrigins.get(safeOrigin(config.url)) : undefined;
    if (agent) config.httpsAgent = agent;
    return config;
  });
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

export async function orderWildcard(input: WildcardOrderInput): Promise<ObtainedCertificate> {
  const { domain, publish, logger } = input;
  const acme = await loadAcme();
  trustDirectory(acme, input.directoryUrl, input.caRootsPem);
  const client = new acme.Client({
    directoryUrl: input.directoryUrl,
    accountKey: input.account.key,
    ...(input.account.url ? { accountUrl: input.account.url } : {}),
    // Poll a challenge or order from 1 s, up to 15 s apart, for about two minutes.
    backoffMin: 1_000,
    backoffMax: 15_000,
    backoffAttempts: 12,
  });
  // Known key → the CA answers with the existing account (RFC 8555 §7.3.1).
  await client.createAccount({
    termsOfServiceAgreed: true,
    ...(input.email ? { contact: [`mailto:${input.email}`] } : {}),
  });
  const account = { key: input.account.key, url: client.getAccountUrl() };
  const order = await client.createOrder({
    identifiers: [
      { type: 'dns', value: `*.${domain}` },
      { type: 'dns', value: domain },
    ],
  });
  const pending = [];
  for (const authorization of await client.getAuthorizations(order)) {
    if (authorization.status === 'valid') continue; // the CA remembers a recent validation
    const challenge = authorization.challenges.find((c) => c.type === 'dns-01');
    if (!challenge) throw new Error(`the CA offers no dns-01 challenge for ${authorization.identifier.value}`);
    pending.push({ challenge, value: await client.getChallengeKeyAuthorization(challenge) });
  }
  const name = `_acme-challenge.${domain}`;
  const values = pending.map((p) => p.value);
  if (values.length > 0) {
    await publish.add(name, values);
    logger.info({ name, count: values.length }, 'edge: the DNS-01 challenge records are published');
  }
  try {
    for (const { challenge } of pending) await client.completeChallenge(challenge);
    for (const { challenge } of pending) await client.waitForValidStatus(challenge);
  } finally {
    if (values.length > 0)
      await publish.remove(name, values).catch((error: unknown) => {
        // Left behind, they harm nothing (a value is only good for its own order): say so and go on.
        logger.warn({ err: error, name }, 'edge: the DNS-01 challenge records could not be removed');
      });
  }
  const [key, csr] = await acme.crypto.createCsr(
    { commonName: `*.${domain}`, altNames: [`*.${domain}`, domain] },
    await acme.crypto.createPrivateEcdsaKey(),
  );
  const finalized = await client.finalizeOrder(order, csr);
  const certificatePem = await client.getCertificate(finalized);
  const leaf = new X509Certificate(certificatePem);
  return { certificatePem, keyPem: key.toString(), notAfter: new Date(leaf.validTo), account };
}
