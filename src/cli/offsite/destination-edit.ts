import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { MarinaClient } from '../api/client.js';
import type { DestinationChanges } from '../api/types.js';
import { wholeNumber } from '../args.js';
import { CliUsageError } from '../errors.js';
import { printJson } from '../output.js';
import { organizationId, resolveDestination } from './lookup.js';
import { printTest, where } from './render.js';
import { SecretReader, secretFile } from './secrets.js';

interface EditOptions {
  org?: string;
  name?: string;
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
  saveAnyway?: boolean;
  json?: boolean;
}

/** Only what was given: the server keeps every field, and every secret, left out. */
async function changesOf(kind: 's3' | 'sftp', opts: EditOptions): Promise<DestinationChanges> {
  const body: DestinationChanges = {};
  if (opts.name !== undefined) body.name = opts.name.trim();
  if (opts.saveAnyway) body.saveAnyway = true;
  const given = (value: unknown) => value !== undefined;
  if (kind === 's3') {
    if ([opts.host, opts.port, opts.user, opts.folder, opts.privateKeyFile, opts.passwordStdin].some(given))
      throw new CliUsageError('SFTP options are not for an S3 destination.');
    const s3: NonNullable<DestinationChanges['s3']> = {};
    if (opts.endpoint !== undefined) s3.endpoint = opts.endpoint === '' ? null : opts.endpoint;
    if (opts.region !== undefined) s3.region = opts.region;
    if (opts.bucket !== undefined) s3.bucket = opts.bucket;
    if (opts.prefix !== undefined) s3.prefix = opts.prefix;
    if (opts.pathStyle !== undefined) s3.forcePathStyle = opts.pathStyle;
    if (opts.accessKeyId !== undefined) s3.accessKeyId = opts.accessKeyId;
    if (opts.secretAccessKeyFile)
      s3.secretAccessKey = await secretFile(opts.secretAccessKeyFile, '--secret-access-key-file');
    if (Object.keys(s3).length) body.s3 = s3;
  } else {
    if ([opts.endpoint, opts.region, opts.bucket, opts.prefix, opts.accessKeyId].some(given))
      throw new CliUsageError('S3 options are not for an SFTP destination.');
    const sftp: NonNullable<DestinationChanges['sftp']> = {};
    if (opts.host !== undefined) sftp.host = opts.host;
    if (opts.port !== undefined) sftp.port = wholeNumber(opts.port, '--port', 1, 65535);
    if (opts.user !== undefined) sftp.username = opts.user;
    if (opts.folder !== undefined) sftp.folder = opts.folder;
    if (opts.hostKeyFingerprint !== undefined) sftp.hostKeyFingerprint = opts.hostKeyFingerprint.replace(/=$/, '');
    if (opts.privateKeyFile) {
      try {
        sftp.privateKey = await readFile(opts.privateKeyFile, 'utf8');
      } catch (error) {
        throw new CliUsageError(
          `--private-key-file: cannot read ${opts.privateKeyFile} (${(error as NodeJS.ErrnoException).code ?? error}).`,
        );
      }
      if (opts.keyPassphraseFile)
        sftp.privateKeyPassphrase = await secretFile(opts.keyPassphraseFile, '--key-passphrase-file');
    }
    if (opts.passwordStdin) sftp.password = await new SecretReader().read('password', 'use --private-key-file <path>');
    if (Object.keys(sftp).length) body.sftp = sftp;
  }
  if (Object.keys(body).filter((k) => k !== 'saveAnyway').length === 0)
    throw new CliUsageError('Nothing to change: give --name or a connection option (see --help).');
  return body;
}

/** `marina destinations edit`: change a destination's name or connection; it is tested again before saving. */
export function registerDestinationEdit(destinations: Command, client: () => Promise<MarinaClient>): void {
  destinations
    .command('edit <destination>')
    .description('change a destination: its name or connection (secrets not given are kept); tested before saving')
    .option('--org <organization>', 'look the name up in this organization (slug or id)')
    .option('--name <name>', 'a new name')
    .option('--endpoint <url>', 'S3: the endpoint ("" for AWS)')
    .option('--region <region>', 'S3: the region')
    .option('--bucket <bucket>', 'S3: the bucket')
    .option('--prefix <prefix>', 'S3: a folder inside the bucket')
    .option('--path-style', 'S3: path-style URLs')
    .option('--no-path-style', 'S3: virtual-host URLs')
    .option('--access-key-id <id>', 'S3: the access key id')
    .option('--secret-access-key-file <path>', 'S3: a file holding a new secret access key')
    .option('--host <host>', 'SFTP: the server (a new server has its host key pinned again)')
    .option('--port <port>', 'SFTP: its SSH port')
    .option('--user <user>', 'SFTP: the user name')
    .option('--folder <folder>', 'SFTP: the folder')
    .option('--private-key-file <path>', 'SFTP: a new private key file')
    .option('--key-passphrase-file <path>', "SFTP: a file holding the new private key's passphrase")
    .option('--password-stdin', 'SFTP: read a new password from standard input')
    .option('--host-key-fingerprint <SHA256:…>', 'SFTP: the expected host key')
    .option('--save-anyway', 'save even if the connection test fails (it is then marked unhealthy)')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: EditOptions) => {
      const c = await client();
      const orgId = opts.org ? await organizationId(c, opts.org) : undefined;
      const current = await resolveDestination(c, ref, orgId);
      const body = await changesOf(current.kind, opts);
      const saved = await c.call(
        c.api.PATCH('/api/v1/destinations/{id}', { params: { path: { id: current.id } }, body }),
      );
      if (opts.json) return printJson(saved);
      console.log(`Saved destination "${saved.destination.name}" (${where(saved.destination)}).`);
      printTest(saved.test);
    });
}
