import type { Command } from 'commander';
import type { MarinaClient } from '../api/client.js';
import type { ProbeResult } from '../api/types.js';
import { CliUsageError } from '../errors.js';
import { printJson, size, table } from '../output.js';
import { type AddOptions, newDestination } from './destination-body.js';
import { registerDestinationEdit } from './destination-edit.js';
import { listDestinations, organizationId, resolveDestination } from './lookup.js';
import { healthText, printTest, probeLines, where } from './render.js';

/** Writes, reads back and deletes a probe at a destination. */
async function probe(c: MarinaClient, id: string): Promise<ProbeResult> {
  return c.call(c.api.POST('/api/v1/destinations/{id}/test', { params: { path: { id } } }));
}

/** Offsite destinations for backup copies: `marina destinations …`. */
export function registerDestinationCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const destinations = program
    .command('destinations')
    .description('offsite destinations for backup copies: S3-compatible buckets and SFTP servers');

  destinations
    .command('ls')
    .description("list destinations (an organization's own and the platform-wide ones)")
    .option('--org <organization>', 'only those this organization may use (slug or id)')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { org?: string; json?: boolean }) => {
      const c = await client();
      const orgId = opts.org ? await organizationId(c, opts.org) : undefined;
      const rows = await listDestinations(c, orgId);
      if (opts.json) return printJson(rows);
      const { organizations } = await c.call(c.api.GET('/api/v1/organizations'));
      const slugs = new Map(organizations.map((o) => [o.id, o.slug]));
      console.log(
        table(
          rows.map((d) => ({
            name: d.name,
            owner: d.organizationId ? (slugs.get(d.organizationId) ?? d.organizationId) : 'platform',
            kind: d.kind,
            where: where(d),
            encrypted: d.encrypted ? 'yes' : 'no',
            copies: d.copies,
            size: size(d.bytes),
            'host key': d.sftp ? (d.sftp.hostKeyFingerprint ?? 'not pinned yet') : '',
            health: healthText(d),
            id: d.id,
          })),
          ['name', 'owner', 'kind', 'where', 'encrypted', 'copies', 'size', 'host key', 'health', 'id'],
        ),
      );
    });

  destinations
    .command('add <name>')
    .description(
      'add a destination (--s3 or --sftp); secrets come from files, the terminal or standard input, never arguments',
    )
    .option('--org <organization>', 'the organization it belongs to (slug or id)')
    .option('--platform', 'platform-wide: every organization may use it (platform administrators)')
    .option('--s3', 'an S3-compatible bucket (AWS, MinIO, Backblaze B2, R2, Spaces…)')
    .option('--sftp', 'an SSH server with SFTP (Hetzner Storage Box, rsync.net, a VPS…)')
    .option('--endpoint <url>', 'S3: the endpoint, e.g. https://s3.eu-central-003.backblazeb2.com (none: AWS)')
    .option('--region <region>', 'S3: the region (default us-east-1)')
    .option('--bucket <bucket>', 'S3: the bucket')
    .option('--prefix <prefix>', 'S3: a folder inside the bucket')
    .option('--path-style', 'S3: path-style URLs (MinIO and most self-hosted servers)')
    .option('--access-key-id <id>', 'S3: the access key id')
    .option('--secret-access-key-file <path>', 'S3: a file holding the secret access key (else asked, or stdin)')
    .option('--host <host>', 'SFTP: the server')
    .option('--port <port>', 'SFTP: its SSH port (default 22)')
    .option('--user <user>', 'SFTP: the user name')
    .option('--folder <folder>', 'SFTP: the folder (relative to the login folder unless it starts with /)')
    .option('--private-key-file <path>', 'SFTP: a private key file (OpenSSH or PEM)')
    .option('--key-passphrase-file <path>', "SFTP: a file holding the private key's passphrase")
    .option('--password-stdin', 'SFTP: read a password from standard input (asked when there is no key)')
    .option(
      '--host-key-fingerprint <SHA256:…>',
      'SFTP: the expected host key (else the one shown when added is pinned)',
    )
    .option('--encrypt', 'encrypt the copies there; the passphrase is asked twice (or --passphrase-file)')
    .option('--passphrase-file <path>', 'a file holding the encryption passphrase (12+ characters)')
    .option('--save-anyway', 'save it even if its connection test fails (it is then marked unhealthy)')
    .option('--json', 'print JSON for scripts')
    .action(async (name: string, opts: AddOptions) => {
      if (Boolean(opts.org) === Boolean(opts.platform))
        throw new CliUsageError('Say whose it is: --org ORGANIZATION, or --platform for a platform-wide destination.');
      const c = await client();
      const orgId = opts.org ? await organizationId(c, opts.org) : null;
      const body = await newDestination(name, opts, orgId);
      // The server tests the connection before saving, and refuses a failing one unless --save-anyway.
      const saved = await c.call(c.api.POST('/api/v1/destinations', { body }));
      if (opts.json) return printJson(saved);
      const { destination, test } = saved;
      console.log(
        `Added ${destination.kind.toUpperCase()} destination "${destination.name}" (${where(destination)}${destination.encrypted ? ', encrypted' : ''}, ${destination.id}).`,
      );
      printTest(test);
    });

  registerDestinationEdit(destinations, client);

  destinations
    .command('test <destination>')
    .description('test the connection: write, read back and delete a probe (pins an SFTP host key seen first)')
    .option('--org <organization>', 'look the name up in this organization (slug or id)')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { org?: string; json?: boolean }) => {
      const c = await client();
      const orgId = opts.org ? await organizationId(c, opts.org) : undefined;
      const destination = await resolveDestination(c, ref, orgId);
      const result = await probe(c, destination.id);
      if (opts.json) printJson(result);
      else {
        console.log(`Testing "${destination.name}" (${where(destination)}):`);
        for (const line of probeLines(result)) console.log(line);
        if (result.ok) console.log('OK.');
      }
      if (!result.ok)
        throw new Error(`The connection test of "${destination.name}" failed (${result.error?.reason ?? 'unknown'}).`);
    });

  destinations
    .command('rm <destination>')
    .description('remove a destination that keeps no copies and no schedule uses')
    .option('--org <organization>', 'look the name up in this organization (slug or id)')
    .option('-y, --yes', 'do not ask')
    .action(async (ref: string, opts: { org?: string; yes?: boolean }) => {
      const c = await client();
      const orgId = opts.org ? await organizationId(c, opts.org) : undefined;
      const destination = await resolveDestination(c, ref, orgId);
      if (!opts.yes) {
        const { confirm } = await import('../prompt.js');
        const ok = await confirm(`Remove the destination "${destination.name}" (${where(destination)})?`);
        if (!ok) throw new CliUsageError('Not removed (pass --yes when there is no terminal to ask on).');
      }
      await c.call(c.api.DELETE('/api/v1/destinations/{id}', { params: { path: { id: destination.id } } }));
      console.log(`Removed destination "${destination.name}".`);
    });
}
