import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { ApiError, type MarinaClient } from './client.js';
import { CliUsageError, resolveInstance } from './instances.js';
import { ago, printJson, size, table } from './output.js';
import { type JobSnapshot, watchJob } from './progress.js';

/** Offsite destinations and backup schedules: `marina destinations …` and `marina schedules …`. */

interface Destination {
  id: string;
  organizationId: string | null;
  name: string;
  kind: 's3' | 'sftp';
  s3: {
    endpoint: string | null;
    region: string;
    bucket: string;
    prefix: string;
    forcePathStyle: boolean;
    accessKeyId: string;
  } | null;
  sftp: { host: string; port: number; username: string; folder: string; hostKeyFingerprint: string | null } | null;
  encrypted: boolean;
  secretsSet: string[];
  createdBy: string;
  createdAt: string;
  copies: number;
  bytes: number;
}

interface ProbeResult {
  ok: boolean;
  steps: { step: string; ok: boolean; ms: number }[];
  error: { reason: string; message: string } | null;
  hostKeyFingerprint: string | null;
  pinned: boolean;
}

interface Policy {
  last: number;
  daily: number;
  weekly: number;
  monthly: number;
}

type Spec =
  | { kind: 'daily'; time: string; timeZone: string }
  | { kind: 'weekly'; weekday: number; time: string; timeZone: string }
  | { kind: 'monthly'; day: number; time: string; timeZone: string }
  | { kind: 'cron'; expression: string; timeZone: string };

interface Schedule {
  instanceId: string;
  enabled: boolean;
  spec: Spec;
  description: string;
  kind: string;
  format: string;
  destinationIds: string[];
  retention: { local: Policy; destinations: Record<string, Policy> };
  verifyEveryDays: number | null;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastJobId: string | null;
  lastVerifiedAt: string | null;
  updatedBy: string;
  updatedAt: string;
}

interface Copy {
  destinationId: string;
  destinationName: string;
  destinationKind: string;
  status: 'pending' | 'uploading' | 'verified' | 'failed' | 'deleted';
  encrypted: boolean;
  sizeBytes: number | null;
  attempts: number;
  error: string | null;
  verifiedAt: string | null;
}

interface Backup {
  id: string;
  instanceLabel: string;
  kind: string;
  format: string;
  trigger: string;
  status: string;
  sizeBytes: number | null;
  sha256: string | null;
  error: string | null;
  createdAt: string;
  localStatus: 'present' | 'deleted';
  copies: Copy[];
}

interface BackupRun extends Backup {
  startedAt: string | null;
  durationMs: number | null;
  problem: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What the server keeps when a schedule is new and says nothing of retention. */
const DEFAULT_POLICY: Policy = { last: 0, daily: 7, weekly: 4, monthly: 3 };
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

// ---------------------------------------------------------------------------------------------
// Small helpers

const duration = (ms: number | null) => {
  if (ms === null) return '-';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
};

/** "in 5h 3m" or "3h ago". */
export function relative(iso: string, now = Date.now()): string {
  const diff = new Date(iso).getTime() - now;
  if (diff < 0) return ago(iso);
  const minutes = Math.round(diff / 60_000);
  if (minutes < 1) return 'in less than a minute';
  if (minutes < 60) return `in ${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `in ${hours}h${minutes % 60 ? ` ${minutes % 60}m` : ''}`;
  return `in ${Math.round(hours / 24)}d`;
}

/** The machine's own time zone, as the schedule's default. */
export const machineTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** "2026-03-29 03:00" on the wall clock of `timeZone` (the machine's when not given). */
export function wallClock(iso: string, timeZone?: string): string {
  const parts: Record<string, string> = {};
  for (const part of new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(iso)))
    parts[part.type] = part.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

function where(d: Destination): string {
  if (d.s3) {
    const path = d.s3.prefix ? `${d.s3.bucket}/${d.s3.prefix}` : d.s3.bucket;
    return `${path} @ ${d.s3.endpoint ?? `AWS ${d.s3.region}`}`;
  }
  if (d.sftp) {
    const { username, host, port, folder } = d.sftp;
    // Relative folders are inside the login folder; an absolute one keeps its leading slash.
    const path = folder === '' ? '' : folder.startsWith('/') ? `:${folder}` : `/${folder}`;
    return `${username}@${host}:${port}${path}`;
  }
  return '-';
}

/** A secret in a file: its content without the final line break an editor adds. */
async function secretFile(path: string, option: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(`${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? error}).`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new CliUsageError(`${option}: ${path} is empty.`);
  return value;
}

/**
 * Secrets never come as plain arguments (they would show in `ps` and the shell's history): from a
 * file, or asked on the terminal, or one line of piped standard input — which can give one secret
 * only, as it ends once read.
 */
class SecretReader {
  private stdinUsed: string | undefined;

  /** `alternative` says how else to give it, e.g. "use --passphrase-file <path>". */
  async read(what: string, alternative: string, options: { twice?: boolean } = {}): Promise<string> {
    const { readSecret } = await import('./prompt.js');
    const tty = process.stdin.isTTY === true;
    if (!tty && this.stdinUsed)
      throw new CliUsageError(`Standard input gave the ${this.stdinUsed} already; for the ${what}, ${alternative}.`);
    const value = await readSecret(`${what[0]?.toUpperCase()}${what.slice(1)}: `);
    if (!tty) this.stdinUsed = what;
    if (value === '')
      throw new CliUsageError(`No ${what} given: type it when asked or pipe it on standard input; or ${alternative}.`);
    if (options.twice && tty) {
      const again = await readSecret(`The ${what} again: `);
      if (again !== value) throw new CliUsageError(`The two ${what}s differ; nothing was changed.`);
    }
    return value;
  }
}

function wholeNumber(value: string, option: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max)
    throw new CliUsageError(`${option}: "${value}" is not a whole number from ${min} to ${max}.`);
  return Number(value);
}

async function organizationId(c: MarinaClient, ref: string): Promise<string> {
  try {
    const { organization } = await c.get<{ organization: { id: string } }>(`/organizations/${encodeURIComponent(ref)}`);
    return organization.id;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404)
      throw new ApiError(404, error.code, `No organization "${ref}" (see \`marina orgs ls\`).`);
    throw error;
  }
}

async function listDestinations(c: MarinaClient, orgId?: string): Promise<Destination[]> {
  return (await c.get<{ destinations: Destination[] }>('/destinations', { organizationId: orgId })).destinations;
}

/** A destination by id, or by name among those visible (an organization's own first). */
async function resolveDestination(
  c: MarinaClient,
  ref: string,
  orgId: string | undefined,
  known?: Destination[],
): Promise<Destination> {
  const all = known ?? (await listDestinations(c, orgId));
  if (UUID.test(ref)) {
    const found = all.find((d) => d.id === ref.toLowerCase());
    if (found) return found;
    return (await c.get<{ destination: Destination }>(`/destinations/${ref}`)).destination;
  }
  const named = all.filter((d) => d.name.toLowerCase() === ref.trim().toLowerCase());
  const own = orgId ? named.filter((d) => d.organizationId === orgId) : [];
  if (own.length === 1 && own[0]) return own[0];
  if (named.length === 1 && named[0]) return named[0];
  if (named.length > 1)
    throw new CliUsageError(
      `Several destinations are named "${ref}" (${named.map((d) => d.id).join(', ')}): give --org or the id.`,
    );
  throw new CliUsageError(`No destination "${ref}": give its name or id (see \`marina destinations ls\`).`);
}

// ---------------------------------------------------------------------------------------------
// Schedule arguments

function parseTime(value: string, option: string): string {
  const match = /^(\d{1,2}):(\d{2})$/.exec(value.trim());
  const hour = Number(match?.[1]);
  const minute = Number(match?.[2]);
  if (!match || hour > 23 || minute > 59)
    throw new CliUsageError(`${option}: "${value}" is not a time: give HH:MM on a 24-hour clock, 00:00 to 23:59.`);
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

function parseWeekday(value: string, option: string): number {
  const text = value.trim().toLowerCase();
  if (/^[1-7]$/.test(text)) return Number(text);
  const index = WEEKDAYS.findIndex((d, i) => text === d || text === WEEKDAY_NAMES[i]?.toLowerCase());
  if (index < 0)
    throw new CliUsageError(
      `${option}: "${value}" is not a weekday: give mon, tue, wed, thu, fri, sat, sun or 1 (Monday) to 7 (Sunday).`,
    );
  return index + 1;
}

/** "<day>@HH:MM", split. */
function dayAt(value: string, option: string, example: string): [string, string] {
  const at = value.lastIndexOf('@');
  if (at <= 0) throw new CliUsageError(`${option}: "${value}" is not DAY@HH:MM, e.g. ${example}.`);
  return [value.slice(0, at), value.slice(at + 1)];
}

export function checkTimeZone(value: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(value))
    throw new CliUsageError(`--tz: "${value}" is not an IANA time zone such as Europe/Brussels or UTC.`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw new CliUsageError(`--tz: "${value}" is not a known IANA time zone (e.g. Europe/Brussels, UTC).`);
  }
  return value;
}

interface TimingOptions {
  daily?: string;
  weekly?: string;
  monthly?: string;
  cron?: string;
  tz?: string;
}

/** The spec the options describe: the current one when they name no timing; undefined without either. */
export function specFrom(opts: TimingOptions, current: Spec | undefined): Spec | undefined {
  const given = (['daily', 'weekly', 'monthly', 'cron'] as const).filter((k) => opts[k] !== undefined);
  if (given.length > 1)
    throw new CliUsageError(
      `Give one of --daily, --weekly, --monthly or --cron, not ${given.map((k) => `--${k}`).join(' and ')}.`,
    );
  const timeZone = checkTimeZone(opts.tz ?? current?.timeZone ?? machineTimeZone());
  if (opts.daily !== undefined) return { kind: 'daily', time: parseTime(opts.daily, '--daily'), timeZone };
  if (opts.weekly !== undefined) {
    const [day, time] = dayAt(opts.weekly, '--weekly', 'sun@02:00');
    return { kind: 'weekly', weekday: parseWeekday(day, '--weekly'), time: parseTime(time, '--weekly'), timeZone };
  }
  if (opts.monthly !== undefined) {
    const [day, time] = dayAt(opts.monthly, '--monthly', '1@03:30');
    return {
      kind: 'monthly',
      day: wholeNumber(day, '--monthly (day)', 1, 31),
      time: parseTime(time, '--monthly'),
      timeZone,
    };
  }
  if (opts.cron !== undefined) {
    const fields = opts.cron.trim().split(/\s+/).filter(Boolean);
    if (fields.length !== 5)
      throw new CliUsageError(
        `--cron: "${opts.cron}" has ${fields.length} field(s); give 5 (minute hour day-of-month month day-of-week), e.g. '30 2 * * *'.`,
      );
    return { kind: 'cron', expression: fields.join(' '), timeZone };
  }
  // No timing given: the current one stays (in another zone when --tz says so).
  if (current) return opts.tz === undefined ? current : ({ ...current, timeZone } as Spec);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Rendering

const policyText = (p: Policy) => `last ${p.last}, daily ${p.daily}, weekly ${p.weekly}, monthly ${p.monthly}`;

function scheduleLines(schedule: Schedule, names: Map<string, string>): string[] {
  const here = machineTimeZone();
  const at = (iso: string) => {
    const local = `${wallClock(iso, schedule.spec.timeZone)} ${schedule.spec.timeZone}`;
    return schedule.spec.timeZone === here ? local : `${local} (${wallClock(iso, here)} ${here})`;
  };
  const nameOf = (id: string) => names.get(id) ?? id;
  const retention = [`local: ${policyText(schedule.retention.local)}`];
  for (const id of schedule.destinationIds) {
    const own = schedule.retention.destinations[id];
    retention.push(`${nameOf(id)}: ${own ? policyText(own) : 'as local'}`);
  }
  const row = (label: string, value: string) => `  ${`${label}:`.padEnd(14)}${value}`;
  return [
    row('when', schedule.description),
    row('enabled', schedule.enabled ? 'yes' : 'no (disabled)'),
    row('backup', `${schedule.kind}, ${schedule.format}`),
    row(
      'copies to',
      schedule.destinationIds.length ? schedule.destinationIds.map(nameOf).join(', ') : 'none (local only)',
    ),
    row('retention', retention[0] ?? ''),
    ...retention.slice(1).map((line) => `${' '.repeat(16)}${line}`),
    row(
      'next run',
      schedule.nextRunAt
        ? `${at(schedule.nextRunAt)}, ${relative(schedule.nextRunAt)}`
        : schedule.enabled
          ? 'not planned'
          : 'none (disabled)',
    ),
    row('last run', schedule.lastRunAt ? `${at(schedule.lastRunAt)}, ${ago(schedule.lastRunAt)}` : 'never'),
    row(
      'verification',
      schedule.verifyEveryDays
        ? `a test restore every ${schedule.verifyEveryDays} day(s); last ${schedule.lastVerifiedAt ? ago(schedule.lastVerifiedAt) : 'never'}`
        : 'off',
    ),
  ];
}

const copyMark: Record<Copy['status'], string> = {
  verified: '✓',
  failed: '✗',
  pending: '…',
  uploading: '…',
  deleted: '(deleted)',
};

const copiesText = (copies: Copy[]) =>
  copies.length ? copies.map((c) => `${c.destinationName} ${copyMark[c.status]}`).join(' ') : '-';

function probeLines(result: ProbeResult): string[] {
  const lines = result.steps.map((s) => `  ${s.ok ? '✓' : '✗'} ${s.step.padEnd(8)} ${Math.round(s.ms)} ms`);
  if (result.hostKeyFingerprint)
    lines.push(`  host key ${result.hostKeyFingerprint}${result.pinned ? ' (pinned now)' : ''}`);
  if (result.error) lines.push(`  ✗ ${result.error.reason}: ${result.error.message}`);
  return lines;
}

const colour = () => process.stdout.isTTY === true && !process.env.NO_COLOR;

// ---------------------------------------------------------------------------------------------
// Commands

interface AddOptions {
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
  test: boolean;
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
async function newDestination(name: string, opts: AddOptions, orgId: string | null): Promise<Record<string, unknown>> {
  if (name.trim() === '' || name.length > 60) throw new CliUsageError('The name is 1 to 60 characters.');
  if (opts.s3 === opts.sftp) throw new CliUsageError('Say what it is: --s3 or --sftp.');
  const foreign = (opts.s3 ? SFTP_ONLY : S3_ONLY).filter((k) => opts[k] !== undefined);
  if (foreign.length)
    throw new CliUsageError(`${foreign.map(flag).join(', ')}: not for ${opts.s3 ? 'an S3' : 'an SFTP'} destination.`);
  if (!opts.encrypt && opts.passphraseFile) throw new CliUsageError('--passphrase-file goes with --encrypt.');
  const secrets = new SecretReader();
  const body: Record<string, unknown> = { name: name.trim(), kind: opts.s3 ? 's3' : 'sftp' };
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
    const sftp: Record<string, unknown> = {
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

export function registerOffsiteCommands(program: Command, client: () => Promise<MarinaClient>): void {
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
      const { organizations } = await c.get<{ organizations: { id: string; slug: string }[] }>('/organizations');
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
            id: d.id,
          })),
          ['name', 'owner', 'kind', 'where', 'encrypted', 'copies', 'size', 'host key', 'id'],
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
    .option('--no-test', 'do not test the connection after adding it')
    .option('--json', 'print JSON for scripts')
    .action(async (name: string, opts: AddOptions) => {
      if (Boolean(opts.org) === Boolean(opts.platform))
        throw new CliUsageError('Say whose it is: --org ORGANIZATION, or --platform for a platform-wide destination.');
      const c = await client();
      const orgId = opts.org ? await organizationId(c, opts.org) : null;
      const body = await newDestination(name, opts, orgId);
      const { destination } = await c.post<{ destination: Destination }>('/destinations', body);
      const test = opts.test ? await c.post<ProbeResult>(`/destinations/${destination.id}/test`) : undefined;
      if (opts.json) printJson({ destination: test?.pinned ? pinnedView(destination, test) : destination, test });
      else {
        console.log(
          `Added ${destination.kind.toUpperCase()} destination "${destination.name}" (${where(destination)}${destination.encrypted ? ', encrypted' : ''}, ${destination.id}).`,
        );
        if (test) {
          console.log(test.ok ? 'Connection test passed:' : 'Connection test FAILED:');
          for (const line of probeLines(test)) console.log(line);
        }
      }
      if (test && !test.ok)
        throw new Error(
          `"${destination.name}" was added, but its connection test failed (${test.error?.reason ?? 'unknown'}); fix it and run \`marina destinations test\`.`,
        );
    });

  destinations
    .command('test <destination>')
    .description('test the connection: write, read back and delete a probe (pins an SFTP host key seen first)')
    .option('--org <organization>', 'look the name up in this organization (slug or id)')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { org?: string; json?: boolean }) => {
      const c = await client();
      const orgId = opts.org ? await organizationId(c, opts.org) : undefined;
      const destination = await resolveDestination(c, ref, orgId);
      const result = await c.post<ProbeResult>(`/destinations/${destination.id}/test`);
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
        const { confirm } = await import('./prompt.js');
        const ok = await confirm(`Remove the destination "${destination.name}" (${where(destination)})?`);
        if (!ok) throw new CliUsageError('Not removed (pass --yes when there is no terminal to ask on).');
      }
      await c.delete(`/destinations/${destination.id}`);
      console.log(`Removed destination "${destination.name}".`);
    });

  const schedules = program.command('schedules').description("instances' backup schedules");

  schedules
    .command('show <instance>')
    .description("an instance's backup schedule (ORGANIZATION/PROJECT/INSTANCE or id)")
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const c = await client();
      const instance = await instanceOf(c, ref);
      const { schedule } = await c.get<{ schedule: Schedule | null }>(`/instances/${instance.id}/schedule`);
      if (opts.json) return printJson(schedule);
      if (!schedule) {
        console.log(`${ref} has no schedule; set one with \`marina schedules set ${ref} --daily 02:00\`.`);
        return;
      }
      const names = await destinationNames(c, instance);
      console.log(`Backup schedule of ${ref}:`);
      for (const line of scheduleLines(schedule, names)) console.log(line);
    });

  schedules
    .command('set <instance>')
    .description('set (or change) the backup schedule; what is not given stays as it was')
    .option('--daily <HH:MM>', 'every day at this time')
    .option('--weekly <day@HH:MM>', 'every week, e.g. sun@02:00 (mon … sun, or 1 = Monday … 7 = Sunday)')
    .option('--monthly <day@HH:MM>', 'every month on this day, e.g. 1@03:30 (29–31: the last day in shorter months)')
    .option('--cron <expression>', "five-field cron, e.g. '30 2 * * 1-5' (at most every 15 minutes)")
    .option('--tz <zone>', `IANA time zone (default: the schedule's, else this machine's: ${machineTimeZone()})`)
    .addOption(new Option('--kind <kind>', 'what to back up').choices(['full', 'database', 'filestore']))
    .addOption(
      new Option('--format <format>', "zip (Odoo's) or native (Marina's fast format)").choices(['zip', 'native']),
    )
    .option(
      '--to <destination>',
      'copy offsite to this destination (name or id); repeat for several',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--local-only', 'no offsite copies')
    .option('--keep-last <n>', 'local retention: keep the last N backups')
    .option('--keep-daily <n>', 'local retention: one a day for N days')
    .option('--keep-weekly <n>', 'local retention: one a week for N weeks')
    .option('--keep-monthly <n>', 'local retention: one a month for N months')
    .option('--verify-every <days>', 'test-restore the newest backup every N days (1–90; 0 or off: never)')
    .option('--enable', 'turn the schedule on')
    .option('--disable', 'turn the schedule off (kept, not run)')
    .option('--json', 'print JSON for scripts')
    .action(
      async (
        ref: string,
        opts: TimingOptions & {
          kind?: string;
          format?: string;
          to?: string[];
          localOnly?: boolean;
          keepLast?: string;
          keepDaily?: string;
          keepWeekly?: string;
          keepMonthly?: string;
          verifyEvery?: string;
          enable?: boolean;
          disable?: boolean;
          json?: boolean;
        },
      ) => {
        // Everything that can be checked without the server is checked before asking it anything.
        if (opts.enable && opts.disable) throw new CliUsageError('Give --enable or --disable, not both.');
        if (opts.localOnly && opts.to) throw new CliUsageError('Give --to or --local-only, not both.');
        if (opts.tz !== undefined) checkTimeZone(opts.tz);
        specFrom(opts, { kind: 'daily', time: '00:00', timeZone: 'UTC' });
        const keep: Partial<Policy> = {};
        for (const [key, option, value] of [
          ['last', '--keep-last', opts.keepLast],
          ['daily', '--keep-daily', opts.keepDaily],
          ['weekly', '--keep-weekly', opts.keepWeekly],
          ['monthly', '--keep-monthly', opts.keepMonthly],
        ] as const)
          if (value !== undefined) keep[key] = wholeNumber(value, option, 0, 1000);
        let verifyEveryDays: number | null | undefined;
        if (opts.verifyEvery !== undefined)
          verifyEveryDays = /^(off|never|0)$/i.test(opts.verifyEvery.trim())
            ? null
            : wholeNumber(opts.verifyEvery, '--verify-every', 1, 90);

        const c = await client();
        const instance = await instanceOf(c, ref);
        const { schedule: current } = await c.get<{ schedule: Schedule | null }>(`/instances/${instance.id}/schedule`);
        const spec = specFrom(opts, current?.spec);
        if (!spec)
          throw new CliUsageError(
            `${ref} has no schedule yet: say when, with --daily HH:MM, --weekly DAY@HH:MM, --monthly DAY@HH:MM or --cron 'EXPR'.`,
          );
        let destinationIds = current?.destinationIds ?? [];
        if (opts.localOnly) destinationIds = [];
        if (opts.to) {
          const usable = await listDestinations(c, instance.organizationId);
          destinationIds = [];
          for (const to of opts.to) {
            const found = await resolveDestination(c, to, instance.organizationId, usable);
            if (!destinationIds.includes(found.id)) destinationIds.push(found.id);
          }
          if (destinationIds.length > 10) throw new CliUsageError('--to: at most 10 destinations.');
        }
        const retentionDestinations = Object.fromEntries(
          Object.entries(current?.retention.destinations ?? {}).filter(([id]) => destinationIds.includes(id)),
        );
        const body = {
          enabled: opts.disable ? false : opts.enable ? true : (current?.enabled ?? true),
          spec,
          kind: opts.kind ?? current?.kind,
          format: opts.format ?? current?.format,
          destinationIds,
          retention: {
            local: { ...DEFAULT_POLICY, ...current?.retention.local, ...keep },
            destinations: retentionDestinations,
          },
          verifyEveryDays: verifyEveryDays === undefined ? (current?.verifyEveryDays ?? null) : verifyEveryDays,
        };
        const { data } = await c.request<{ schedule: Schedule }>('PUT', `/instances/${instance.id}/schedule`, body);
        if (opts.json) return printJson(data.schedule);
        const names = await destinationNames(c, instance);
        console.log(`Saved the backup schedule of ${ref}:`);
        for (const line of scheduleLines(data.schedule, names)) console.log(line);
      },
    );

  schedules
    .command('run <instance>')
    .description("run the schedule's backup now, with its offsite copies and retention")
    .option('--no-wait', 'return once the job is queued')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { wait: boolean; json?: boolean }) => {
      const c = await client();
      const instance = await instanceOf(c, ref);
      const { backup, job } = await c.post<{ backup: Backup; job: { id: string } }>(
        `/instances/${instance.id}/schedule/run`,
      );
      if (!opts.wait) {
        if (opts.json) printJson({ backup, job });
        else console.log(`Backup ${backup.id} started; follow it with \`marina jobs watch ${job.id}\`.`);
        return;
      }
      if (!opts.json) console.log(`Backup ${backup.id} (${backup.kind}, ${backup.format}) started.`);
      const final: JobSnapshot = await watchJob(c, job.id);
      const { backup: done } = await c.get<{ backup: Backup }>(`/backups/${backup.id}`);
      if (opts.json) printJson({ backup: done, job: final });
      else {
        if (done.status === 'completed') console.log(`${size(done.sizeBytes)}, sha256 ${done.sha256}`);
        for (const copy of done.copies)
          console.log(
            `  ${copyMark[copy.status]} ${copy.destinationName}: ${copy.status}${copy.encrypted ? ' (encrypted)' : ''}${copy.error ? ` — ${copy.error}` : ''}`,
          );
      }
      if (final.status !== 'succeeded') {
        const at = final.error?.step ? ` at step "${final.error.step}"` : '';
        throw new Error(`The backup failed${at}: ${final.error?.message ?? final.status}`);
      }
      if (!opts.json) console.log('Done.');
    });

  schedules
    .command('history <instance>')
    .description("an instance's backup runs with their offsite copies, newest first")
    .option('--problems', 'only runs where the backup or a copy failed')
    .option('--trigger <trigger>', 'only this trigger: schedule, manual, pre-restore, pre-update, pre-delete, import')
    .option('--limit <n>', 'how many runs (1–500)', '50')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { problems?: boolean; trigger?: string; limit: string; json?: boolean }) => {
      const limit = wholeNumber(opts.limit, '--limit', 1, 500);
      const c = await client();
      const instance = await instanceOf(c, ref);
      const { runs } = await c.get<{ runs: BackupRun[] }>('/backup-runs', {
        instanceId: instance.id,
        status: opts.problems ? 'problem' : undefined,
        trigger: opts.trigger,
        limit,
      });
      if (opts.json) return printJson(runs);
      const lines = table(
        runs.map((r) => ({
          time: wallClock(r.startedAt ?? r.createdAt),
          trigger: r.trigger,
          status: r.problem && r.status === 'completed' ? 'copy failed' : r.status,
          duration: duration(r.durationMs),
          size: size(r.sizeBytes),
          copies: copiesText(r.copies),
          '': r.problem ? '!' : '',
        })),
        ['time', 'trigger', 'status', 'duration', 'size', 'copies', ''],
      ).split('\n');
      const red = colour();
      console.log(
        lines.map((line, i) => (red && i > 0 && runs[i - 1]?.problem ? `\x1b[31m${line}\x1b[0m` : line)).join('\n'),
      );
      const problems = runs.filter((r) => r.problem);
      for (const run of problems.slice(0, 5)) {
        const why = [
          run.error,
          ...run.copies.filter((cp) => cp.status === 'failed').map((cp) => `${cp.destinationName}: ${cp.error}`),
        ]
          .filter(Boolean)
          .join('; ');
        console.log(`! ${wallClock(run.startedAt ?? run.createdAt)}: ${why || 'failed'}`);
      }
    });
}

/** The destination an SFTP test pinned, as it is now. */
function pinnedView(d: Destination, test: ProbeResult): Destination {
  return d.sftp ? { ...d, sftp: { ...d.sftp, hostKeyFingerprint: test.hostKeyFingerprint } } : d;
}

/** An instance with its organization (the API gives it; the shared resolver's type does not say so). */
async function instanceOf(c: MarinaClient, ref: string): Promise<{ id: string; organizationId: string }> {
  return (await resolveInstance(c, ref)) as unknown as { id: string; organizationId: string };
}

/** Names of the destinations an instance's organization may use, by id. */
async function destinationNames(c: MarinaClient, instance: { organizationId: string }): Promise<Map<string, string>> {
  const rows = await listDestinations(c, instance.organizationId).catch(() => [] as Destination[]);
  return new Map(rows.map((d) => [d.id, d.name]));
}
