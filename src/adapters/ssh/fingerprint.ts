import { createHash } from 'node:crypto';
import { Client } from 'ssh2';

/** A host key's fingerprint as `ssh-keygen -lf` prints it (SHA256, base64 without padding). */
export function fingerprintOf(hostKey: Buffer): string {
  return `SHA256:${createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '')}`;
}

/** `SHA256:` and 43 characters of base64: what an operator copies from `ssh-keygen -lf`. */
export const HOST_KEY_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * The fingerprint of the host key a server presents, read in a handshake that goes no further
 * (nothing is authenticated or sent): to tell an operator which key a refused host showed.
 */
export function presentedHostKey(host: string, port: number, timeoutMs = 10_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const client = new Client();
    let seen: string | undefined;
    const done = () => {
      client.end();
      resolve(seen);
    };
    client.once('error', done);
    client.once('close', done);
    client.connect({
      host,
      port,
      username: 'marina-host-key-probe',
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        seen = fingerprintOf(key);
        return false;
      },
    });
  });
}
