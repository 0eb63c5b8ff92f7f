import { readFile } from 'node:fs/promises';
import type { NewDestination } from '../api/types.js';
import { wholeNumber } from '../args.js';
import { CliUsageError } from '../errors.js';
import { SecretReader, secretFile } from './secrets.js';

/** The body of `marina destinations add`, from its options and the secrets it reads. */

export interface AddOptions {
  org?: string;
  platform?: boolean;
  s3?: boolean;
  sftp?: boolean;
  endpoint?: string;
  region?: string;
  bucket?: string;
  prefix?: string;
  pathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKeyFile?: string;
  host?: string;
  port?: string;
  user?: string;
  folder?: string;
  privateKeyFile?: string;
  keyPassphraseFile?: string;
  passwordStdin?: boolean;
  hostKeyFingerprint?: string;
  encrypt?: boolean;
  passphraseFile?: string;
  saveAnyway?: boolean;
  json?: boolean;
}

const S3_ONLY = ['endpoint', 'region', 'bucket', 'prefix', 'pathStyle', 'accessKeyId', 'secretAccessKeyFile'] as const;
const SFTP_ONLY = [
  'host',
  'port',
  'user',
  'folder',
  'privateKeyFile',
  'keyPassphraseFile',
  'passwordStdin',
  'hostKeyFingerprint',
] as const;
const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The request body for a new destination, every argument checked before anything is sent. */
export async function newDestination(name: string, opts: AddOptions, orgId: string | null): Promise<NewDestination> {
  if (name.trim() === '' || name.length > 60) throw new CliUsageError('The name is 1 to 60 characters.');
  if (opts.s3 === opts.sftp) throw new CliUsageError('Say what it is: --s3 or --sftp.');
  const foreign = (opts.s3 ? SFTP_ONLY : S3_ONLY).filter((k) => opts[k] !== undefined);
  if (foreign.length)
    throw new CliUsageError(`${foreign.map(flag).join(', ')}: not for ${opts.s3 ? 'an S3' : 'an SFTP'} destination.`);
  if (!opts.encrypt && opts.passphraseFile) throw new CliUsageError('--passphrase-file goes with --encrypt.');
  const secrets = new SecretReader();
  const body: NewDestination = { name: name.trim(), kind: opts.s3 ? 's3' : 'sftp' };
  if (opts.saveAnyway) body.saveAnyway = true;
  if (orgId) body.organizationId = orgId;
  if (opts.s3) {
    if (!opts.bucket) throw new CliUsageError('An S3 destination needs --bucket.');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket) || opts.bucket.includes('..'))
      throw new CliUsageError(
        `--bucket: "${opts.bucket}" is not a bucket name: 3–63 lowercase letters, digits, dots and dashes.`,
      );
    if (!opts.accessKeyId) throw new CliUsageError('An S3 destination needs --access-key-id.');
    if (opts.endpoint !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(opts.endpoint);
      } catch {}
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
        throw new CliUsageError(`--endpoint: "${opts.endpoint}" is not a URL such as https://s3.example.com.`);
    }
    if (opts.region !== undefined && !/^[a-z0-9-]+$/.test(opts.region))
      throw new CliUsageError(`--region: "${opts.region}" is not a region such as eu-central-1.`);
    const secretAccessKey = opts.secretAccessKeyFile
      ? await secretFile(opts.secretAccessKeyFile, '--secret-access-key-file')
      : await secrets.read('secret access key', 'use --secret-access-key-file <path>');
    body.s3 = {
      endpoint: opts.endpoint ?? null,
      region: opts.region,
      bucket: opts.bucket,
      prefix: opts.prefix,
      forcePathStyle: Boolean(opts.pathStyle),
      accessKeyId: opts.accessKeyId,
      secretAccessKey,
    };
  } else {
    if (!opts.host) throw new CliUsageError('An SFTP destination needs --host.');
    if (!/^[A-Za-z0-9.:-]+$/.test(opts.host)) throw new CliUsageError(`--host: "${opts.host}" is not a host name.`);
    if (!opts.user) throw new CliUsageError('An SFTP destination needs --user.');
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(opts.user))
      throw new CliUsageError(`--user: "${opts.user}" is not a user name (letters, digits, _ . -).`);
    const port = opts.port === undefined ? 22 : wholeNumber(opts.port, '--port', 1, 65535);
    if (opts.hostKeyFingerprint !== undefined && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(opts.hostKeyFingerprint))
      throw new CliUsageError('--host-key-fingerprint: give SHA256:… as `ssh-keygen -lf` prints it.');
    if (opts.keyPassphraseFile && !opts.privateKeyFile)
      throw new CliUsageError('--key-passphrase-file goes with --private-key-file.');
    const sftp: NonNullable<NewDestination['sftp']> = {
      host: opts.host,
      port,
      username: opts.user,
      folder: opts.folder,
      hostKeyFingerprint: opts.hostKeyFingerprint?.replace(/=$/, ''),
    };
    if (opts.privateKeyFile) {
      let key: string;
      try {
        key = await readFile(opts.privateKeyFile, 'utf8');
      } catch (error) {
        throw new CliUsageError(
          `--private-key-file: cannot read ${opts.privateKeyFile} (${(error as NodeJS.ErrnoException).code ?? error}).`,
        );
      }
      if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key))
        throw new CliUsageError(
          `--private-key-file: ${opts.privateKeyFile} is not a private key (-----BEGIN … PRIVATE KEY-----).`,
        );
      sftp.privateKey = key;
      if (opts.keyPassphraseFile)
        sftp.privateKeyPassphrase = await secretFile(opts.keyPassphraseFile, '--key-passphrase-file');
    }
    // Without a key, a password is asked (or read from standard input); with one, only on request.
    if (!opts.privateKeyFile || opts.passwordStdin)
      sftp.password = await secrets.read('password', 'use --private-key-file <path>');
    body.sftp = sftp;
  }
  if (opts.encrypt) {
    const passphrase = opts.passphraseFile
      ? await secretFile(opts.passphraseFile, '--passphrase-file')
      : await secrets.read('encryption passphrase', 'use --passphrase-file <path>', { twice: true });
    if (passphrase.length < 12 || passphrase.length > 1000)
      throw new CliUsageError('The encryption passphrase must be 12 to 1000 characters.');
    body.encryption = { passphrase };
  }
  return body;
}
