import { isIP } from 'node:net';
import type { S3Settings, SftpSecrets, SftpSettings } from '../../adapters/storage/types.js';
import { invalid } from '../../platform/validation.js';

/** What a destination's fields may hold: checked before anything is stored or connected to. */

/** Any control character but the line breaks of a pasted private key. */
function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 32 && code !== 10 && code !== 13) || code === 127) return true;
  }
  return false;
}

export function text(input: Record<string, unknown>, field: string, opts: { max: number; optional?: boolean }): string {
  const value = input[field];
  if ((value === undefined || value === null || value === '') && opts.optional) return '';
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, `${field} is required.`);
  if (value.length > opts.max) throw invalid(field, `${field} is at most ${opts.max} characters.`);
  // Control characters have no place in names, hosts or keys (except the newlines of a private key).
  if (hasControlCharacters(value)) throw invalid(field, `${field} contains control characters.`);
  return value;
}

export function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(field, `${field} must be an object.`);
  return value as Record<string, unknown>;
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** The encryption passphrase's length; the route's schema publishes it for clients. */
export const passphraseLength = { min: 12, max: 1000 } as const;

export function validHost(value: string): boolean {
  return isIP(value) !== 0 || HOSTNAME.test(value);
}

/** A folder or prefix inside the remote: relative parts, no `..`, no empty segments. */
function remotePath(value: string, field: string, allowAbsolute: boolean): string {
  const trimmed = value.replace(/\/+$/, '');
  if (trimmed === '') return allowAbsolute && value.startsWith('/') ? '/' : '';
  const body = allowAbsolute && trimmed.startsWith('/') ? trimmed.slice(1) : trimmed;
  const parts = body.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || !/^[A-Za-z0-9._~@+=,-]+$/.test(p)))
    throw invalid(
      field,
      `${field} must be a path of letters, digits and . _ - ~ @ + = , separated by / (no empty parts, no "..").`,
    );
  return trimmed;
}

export function validateS3(input: Record<string, unknown>): { settings: S3Settings; secret: string } {
  const endpointText = text(input, 'endpoint', { max: 300, optional: true });
  let endpoint: string | null = null;
  if (endpointText) {
    let url: URL;
    try {
      url = new URL(endpointText);
    } catch {
      throw invalid('endpoint', 'endpoint must be a URL such as https://s3.eu-central-003.backblazeb2.com.');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw invalid('endpoint', 'endpoint must start with https:// (or http:// for a local server).');
    if (url.username || url.password) throw invalid('endpoint', 'endpoint must not carry credentials.');
    endpoint = url.origin + (url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, ''));
  }
  const region = text(input, 'region', { max: 64, optional: true }) || 'us-east-1';
  if (!/^[a-z0-9-]+$/.test(region)) throw invalid('region', 'region is letters, digits and dashes, e.g. eu-central-1.');
  const bucket = text(input, 'bucket', { max: 63 });
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..'))
    throw invalid('bucket', 'bucket must be a valid bucket name: 3–63 lowercase letters, digits, dots and dashes.');
  const prefix = remotePath(text(input, 'prefix', { max: 200, optional: true }).replace(/^\/+/, ''), 'prefix', false);
  const pathStyle = input.forcePathStyle ?? false;
  if (typeof pathStyle !== 'boolean') throw invalid('forcePathStyle', 'forcePathStyle must be true or false.');
  const accessKeyId = text(input, 'accessKeyId', { max: 128 });
  if (/\s/.test(accessKeyId)) throw invalid('accessKeyId', 'accessKeyId has no spaces.');
  const secret = text(input, 'secretAccessKey', { max: 256 });
  return { settings: { endpoint, region, bucket, prefix, forcePathStyle: pathStyle, accessKeyId }, secret };
}

export function validateSftp(input: Record<string, unknown>): { settings: SftpSettings; secrets: SftpSecrets } {
  const host = text(input, 'host', { max: 253 });
  if (!validHost(host)) throw invalid('host', 'host must be a host name or an IP address.');
  const port = input.port ?? 22;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw invalid('port', 'port must be a whole number from 1 to 65535.');
  const username = text(input, 'username', { max: 64 });
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(username))
    throw invalid('username', 'username is letters, digits, _ . and -.');
  const folder = remotePath(text(input, 'folder', { max: 300, optional: true }), 'folder', true);
  const fingerprint = text(input, 'hostKeyFingerprint', { max: 100, optional: true });
  if (fingerprint && !/^SHA256:[A-Za-z0-9+/]{43}$/.test(fingerprint))
    throw invalid('hostKeyFingerprint', 'hostKeyFingerprint is SHA256:… as ssh-keygen -lf prints it.');
  const privateKey = text(input, 'privateKey', { max: 20_000, optional: true });
  const password = text(input, 'password', { max: 1000, optional: true });
  const keyPassphrase = text(input, 'privateKeyPassphrase', { max: 1000, optional: true });
  if (!privateKey && !password) throw invalid('privateKey', 'Give a private key or a password.');
  if (privateKey && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey))
    throw invalid(
      'privateKey',
      'privateKey must be a private key in OpenSSH or PEM form (-----BEGIN … PRIVATE KEY-----).',
    );
  const secrets: SftpSecrets = {};
  if (privateKey) secrets.privateKey = privateKey.endsWith('\n') ? privateKey : `${privateKey}\n`;
  if (keyPassphrase) secrets.privateKeyPassphrase = keyPassphrase;
  if (password) secrets.password = password;
  return {
    settings: { host, port, username, folder, hostKeyFingerprint: fingerprint || null },
    secrets,
  };
}
