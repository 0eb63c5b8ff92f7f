import { StorageError } from './types.js';

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** The system error codes of an error, looking inside the AggregateError Node throws for happy eyeballs. */
function codesOf(error: unknown, depth = 0): string[] {
  if (typeof error !== 'object' || error === null || depth > 3) return [];
  const codes: string[] = [];
  const { code, errors, cause } = error as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string') codes.push(code);
  if (Array.isArray(errors)) for (const inner of errors) codes.push(...codesOf(inner, depth + 1));
  if (cause) codes.push(...codesOf(cause, depth + 1));
  return codes;
}

/**
 * Maps DNS, TCP, timeout and TLS failures to a StorageError; null when the error is none of these.
 * `host` is the name that was looked up, `where` how the user knows the destination.
 */
export function networkFailure(error: unknown, host: string, where: string): StorageError | null {
  const codes = codesOf(error);
  const has = (...wanted: string[]) => wanted.some((c) => codes.includes(c));
  const options = { cause: error };
  // The first line only: TLS errors carry OpenSSL's multi-line diagnostics.
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_NONAME'))
    return new StorageError(
      'dns',
      `The host name "${host}" cannot be resolved${has('EAI_AGAIN') ? ' (DNS did not answer)' : ''}: check the spelling and this server's DNS.`,
      options,
    );
  if (has('ECONNREFUSED'))
    return new StorageError('connect', `${where} refused the connection: nothing listens on that port.`, options);
  if (has('EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'))
    return new StorageError('connect', `${where} cannot be reached from this server (no route).`, options);
  if (has('ECONNRESET', 'EPIPE', 'ECONNABORTED'))
    return new StorageError('connect', `The connection to ${where} was cut (${detail}).`, options);
  const name = error instanceof Error ? error.name : '';
  if (has('ETIMEDOUT', 'ESOCKETTIMEDOUT') || name === 'TimeoutError')
    return new StorageError('timeout', `${where} did not answer in time (${detail}).`, options);
  const tls = codes.find((c) => TLS_CODES.has(c) || c.startsWith('ERR_SSL_') || c.startsWith('ERR_TLS_'));
  if (tls === 'EPROTO' || tls?.startsWith('ERR_SSL_'))
    return new StorageError(
      'tls',
      `The TLS handshake with ${where} failed (${tls}): does that port really speak https?`,
      options,
    );
  if (tls)
    return new StorageError(
      'tls',
      `The TLS certificate of ${where} is not trusted (${tls}): check the endpoint's address and certificate.`,
      options,
    );
  return null;
}
