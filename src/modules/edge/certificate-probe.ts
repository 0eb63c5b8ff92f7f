/**
 * What the edge really serves for a name: a TLS handshake with that name as SNI, as a browser
 * would make it, reporting the presented certificate's issuer, subject and expiry. Stored per
 * domain (`domains.certificate_state`) and shown to the organization; no proxy API is asked,
 * because what counts is what a visitor gets.
 */
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { DomainCertificateState } from '../../db/schema.js';

export interface EdgeAddress {
  host: string;
  port: number;
}

export interface CertificateProbeOptions {
  /** PEM roots the chain must verify against (default: Node's default store — its bundled public
   *  roots, plus NODE_EXTRA_CA_CERTS or `tls.setDefaultCACertificates`, where a test adds Pebble's). */
  ca?: string | readonly string[];
  /** The whole probe (connect + handshake) is bounded: an on-demand issuance may hang. */
  timeoutMs?: number;
  now?: () => Date;
}

export interface CertificateProbeResult extends DomainCertificateState {
  /** Whether the chain verified against the roots and covers the name; absent when no
   *  certificate was presented. When false, `error` says why. */
  trusted?: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function probeCertificate(
  edge: EdgeAddress,
  hostname: string,
  options: CertificateProbeOptions = {},
): Promise<CertificateProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const checkedAt = () => (options.now?.() ?? new Date()).toISOString();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: CertificateProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    // Not enforced, so a wrong or untrusted certificate can still be described; `authorized`
    // (chain and name, checked by Node) says whether a browser would accept it.
    const socket: TLSSocket = connect({
      host: edge.host,
      port: edge.port,
      servername: hostname,
      ...(options.ca === undefined ? {} : { ca: [options.ca].flat() }),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(
      () => finish({ checkedAt: checkedAt(), error: `no TLS answer from the edge within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      if (!peer?.raw) {
        finish({ checkedAt: checkedAt(), error: 'the edge presented no certificate' });
        return;
      }
      finish(describe(new X509Certificate(peer.raw), peer, hostname, socket, checkedAt()));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      finish({ checkedAt: checkedAt(), error: handshakeError(error) });
    });
  });
}

function describe(
  certificate: X509Certificate,
  peer: PeerCertificate,
  hostname: string,
  socket: TLSSocket,
  checkedAt: string,
): CertificateProbeResult {
  const notAfter = new Date(certificate.validTo);
  const state: CertificateProbeResult = {
    issuer: nameOf(certificate.issuer),
    subject: nameOf(certificate.subject) ?? certificate.subjectAltName?.split(', ')[0]?.replace(/^DNS:/, ''),
    notAfter: Number.isNaN(notAfter.getTime()) ? undefined : notAfter.toISOString(),
    checkedAt,
    trusted: socket.authorized,
  };
  // Node folds the name check into `authorized`; ask again to say which of the two failed.
  const wrongName = checkServerIdentity(hostname, peer);
  if (wrongName) {
    state.trusted = false;
    state.error = `the certificate does not cover ${hostname}`;
  } else if (!socket.authorized) {
    state.error = `the certificate is not trusted: ${String(socket.authorizationError ?? 'unknown reason')}`;
  }
  return state;
}

/** "Let's Encrypt R11" from `C=US\nO=Let's Encrypt\nCN=R11`; the CN alone when there is no O. */
function nameOf(distinguishedName: string): string | undefined {
  const fields = new Map<string, string>();
  for (const line of distinguishedName.split('\n')) {
    const equals = line.indexOf('=');
    if (equals > 0 && !fields.has(line.slice(0, equals))) fields.set(line.slice(0, equals), line.slice(equals + 1));
  }
  const organization = fields.get('O');
  const commonName = fields.get('CN');
  if (organization && commonName && !commonName.includes(organization)) return `${organization} ${commonName}`;
  return commonName ?? organization ?? (distinguishedName.trim() || undefined);
}

function handshakeError(error: NodeJS.ErrnoException): string {
  if (error.code === 'ECONNREFUSED') return 'the edge refused the connection';
  if (error.code === 'ECONNRESET') return 'the edge closed the connection during the TLS handshake';
  // OpenSSL's message carries a library prefix and a source path: keep the readable part.
  const alert = /alert ([a-z ]+?)(?::|$)/i.exec(error.message)?.[1];
  if (alert) return `the TLS handshake failed: the edge answered "${alert.trim()}"`;
  return `the TLS handshake failed: ${error.message}`;
}
