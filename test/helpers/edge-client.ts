import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { EdgeStack } from './edge-stack.js';

/** A client that reaches the test edge (test/helpers/edge-stack.ts) as a browser would. */

export interface EdgeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** What the edge presented (HTTPS only). */
  certificate: DetailedPeerCertificate | null;
  /** Whether the chain verified against `ca` for the name (HTTPS only). */
  authorized: boolean;
  authorizationError: string | null;
}

export interface EdgeRequestOptions {
  /** The name asked for: SNI and Host header; resolved to 127.0.0.1 whatever DNS says. */
  hostname: string;
  path?: string;
  scheme?: 'https' | 'http';
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM roots the chain is checked against (default: Pebble's issuing root). */
  ca?: string;
  /** A handshake for a name that cannot be validated hangs while Caddy retries: always bounded. */
  timeoutMs?: number;
}

/**
 * One request to the stack's edge for `hostname`, over a fresh connection to 127.0.0.1 (no
 * keep-alive reuse between calls). The certificate is not enforced, so a test can look at a wrong
 * one: `authorized` tells whether it verified against `ca`.
 */
export function edgeRequest(stack: EdgeStack, options: EdgeRequestOptions): Promise<EdgeResponse> {
  const scheme = options.scheme ?? 'https';
  const port = scheme === 'https' ? stack.httpsPort : stack.httpPort;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const lookup = ((_host: string, lookupOptions: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (lookupOptions?.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  }) as unknown as LookupFunction;
  return new Promise((resolve, reject) => {
    const requestOptions: https.RequestOptions = {
      host: options.hostname,
      port,
      path: options.path ?? '/',
      method: options.method ?? 'GET',
      headers: { host: `${options.hostname}:${port}`, ...options.headers },
      lookup,
      agent: false,
      timeout: timeoutMs,
    };
    const onResponse = (response: http.IncomingMessage) => {
      const socket = response.socket as TLSSocket;
      const isTls = typeof socket.getPeerCertificate === 'function';
      const certificate = isTls ? socket.getPeerCertificate(true) : null;
      const authorized = isTls ? socket.authorized : false;
      const authorizationError = isTls && socket.authorizationError ? String(socket.authorizationError) : null;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body,
          certificate: certificate && Object.keys(certificate).length > 0 ? certificate : null,
          authorized,
          authorizationError,
        }),
      );
      response.on('error', reject);
    };
    const request =
      scheme === 'https'
        ? https.request(
            {
              ...requestOptions,
              servername: options.hostname,
              ca: options.ca ?? stack.issuingRootPem,
              rejectUnauthorized: false,
            },
            onResponse,
          )
        : http.request(requestOptions, onResponse);
    const timer = setTimeout(
      () => request.destroy(new Error(`${scheme}://${options.hostname}:${port} gave no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    request.on('close', () => clearTimeout(timer));
    request.on('timeout', () => request.destroy(new Error(`${scheme}://${options.hostname}:${port} timed out`)));
    request.on('error', reject);
    request.end(options.body);
  });
}
