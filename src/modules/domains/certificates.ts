import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { MarinaError } from '../../platform/errors.js';

/** An uploaded certificate as the domain's view shows it. */
export interface OwnCertificate {
  subject: string;
  issuer: string;
  notAfter: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAX_PEM = 64 * 1024;

function invalid(reason: string): MarinaError {
  return new MarinaError('MARINA_E_CERTIFICATE_INVALID', `The certificate cannot be used: ${reason}`, { reason });
}

/** The leaf and the chain of a PEM bundle, leaf first (as servers send them). */
export function parseChain(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw invalid('no PEM certificate ("-----BEGIN CERTIFICATE-----") was found.');
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw invalid(`certificate ${index + 1} of the bundle is not a valid X.509 certificate.`);
    }
  });
}

function parseKey(pem: string): KeyObject {
  if (/ENCRYPTED/.test(pem)) throw invalid('the private key is encrypted; upload it without a passphrase.');
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw invalid('the private key is not a valid PEM private key.');
  }
}

const oneLine = (name: string): string => name.split('\n').filter(Boolean).join(', ');

export const describeCertificate = (leaf: X509Certificate): OwnCertificate => ({
  subject: oneLine(leaf.subject),
  issuer: oneLine(leaf.issuer),
  notAfter: new Date(leaf.validTo).toISOString(),
});

/**
 * Checks an organization's own certificate for one of its domains before the edge serves it: the
 * key matches the leaf, the leaf covers the name, it is valid now (by Marina's clock), and each
 * certificate of the chain is signed by the next one. Answers what the view shows.
 */
export function checkCertificate(input: {
  certificate: unknown;
  key: unknown;
  hostname: string;
  now: Date;
}): OwnCertificate {
  const { certificate, key, hostname, now } = input;
  if (typeof certificate !== 'string' || certificate.trim() === '') throw invalid('the certificate (PEM) is missing.');
  if (typeof key !== 'string' || key.trim() === '') throw invalid('the private key (PEM) is missing.');
  if (certificate.length > MAX_PEM || key.length > MAX_PEM) throw invalid('the PEM text is too large.');
  const chain = parseChain(certificate);
  const [leaf] = chain;
  if (!leaf) throw invalid('no certificate was found.');
  const privateKey = parseKey(key);
  if (!leaf.checkPrivateKey(privateKey)) throw invalid('the private key does not belong to the certificate.');
  if (leaf.checkHost(hostname, { wildcards: true, partialWildcards: false }) === undefined)
    throw invalid(`it does not cover ${hostname} (it is for ${leaf.subjectAltName ?? oneLine(leaf.subject)}).`);
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (now < notBefore) throw invalid(`it is not valid before ${notBefore.toISOString()}.`);
  if (now >= notAfter) throw invalid(`it expired on ${notAfter.toISOString()}.`);
  for (let i = 0; i + 1 < chain.length; i++) {
    const [child, parent] = [chain[i], chain[i + 1]];
    if (child && parent && !child.verify(parent.publicKey))
      throw invalid(`certificate ${i + 1} of the chain is not signed by certificate ${i + 2}; put the chain in order.`);
  }
  return describeCertificate(leaf);
}
