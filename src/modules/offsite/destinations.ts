import { isIP } from 'node:net';
import { sql } from 'kysely';
import type { Static } from 'typebox';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { ProbeResult, S3Settings, SftpSecrets, SftpSettings, StoreTarget } from '../../adapters/storage/types.js';
import type { Db } from '../../db/database.js';
import type { Destination } from '../../db/schema.js';
import { memberOrganizations, requireAccess, requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { invalid, isUuid } from '../../platform/validation.js';
import { outboundError } from '../settings/outbound-settings.js';
import { checkReachable } from './destination-checks.js';
import type { Destination as DestinationSchema, ProbeResult as ProbeResultSchema } from './schemas.js';

/** What a destination keeps sealed: never returned, logged or audited. */
export interface DestinationSecrets {
  s3?: { secretAccessKey: string };
  sftp?: SftpSecrets;
  /** Offsite copies are encrypted with a key derived from it (see adapters/storage/encryption.ts). */
  encryptionPassphrase?: string;
}

/** A destination as the API shows it, never its secrets (the `Destination` schema). */
export type DestinationView = Static<typeof DestinationSchema>;

/** The outcome of testing a destination, as the API answers it (the `ProbeResult` schema). */
export type DestinationTestView = Static<typeof ProbeResultSchema>;

export type ProbeFunction = (target: StoreTarget, guard: OutboundGuard) => Promise<ProbeResult>;

/** Any control character but the line breaks of a pasted private key. */
function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 32 && code !== 10 && code !== 13) || code === 127) return true;
  }
  return false;
}

function text(input: Record<string, unknown>, field: string, opts: { max: number; optional?: boolean }): string {
  const value = input[field];
  if ((value === undefined || value === null || value === '') && opts.optional) return '';
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, `${field} is required.`);
  if (value.length > opts.max) throw invalid(field, `${field} is at most ${opts.max} characters.`);
  // Control characters have no place in names, hosts or keys (except the newlines of a private key).
  if (hasControlCharacters(value)) throw invalid(field, `${field} contains control characters.`);
  return value;
}

function object(value: unknown, field: string): Record<string, unknown> {
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

function validateS3(input: Record<string, unknown>): { settings: S3Settings; secret: string } {
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

function validateSftp(input: Record<string, unknown>): { settings: SftpSettings; secrets: SftpSecrets } {
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

export interface DestinationServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  probe: ProbeFunction;
  /** Checks every address a destination names before anything connects to it. */
  guard: OutboundGuard;
}

/**
 * Offsite destinations for backup copies: S3-compatible buckets and SFTP servers. An organization's
 * admins manage its own; platform admins manage platform-wide ones every organization may use.
 */
export class DestinationService {
  readonly guard: OutboundGuard;

  constructor(private readonly deps: DestinationServiceDeps) {
    this.guard = deps.guard;
  }

  /**
   * A platform-wide destination is the hosting company's infrastructure: organizations using it see
   * its name and kind, not where it is, with which key, nor what other tenants keep there.
   */
  view(
    d: Destination,
    usage: { copies: number; bytes: number } = { copies: 0, bytes: 0 },
    actor?: Actor,
  ): DestinationView {
    if (d.organization_id === null && actor?.kind === 'user' && !actor.isPlatformAdmin)
      return {
        id: d.id,
        organizationId: null,
        name: d.name,
        kind: d.kind,
        s3: null,
        sftp: null,
        encrypted: d.encrypted,
        secretsSet: [],
        createdBy: 'platform',
        createdAt: d.created_at.toISOString(),
        copies: 0,
        bytes: 0,
      };
    const secrets = this.secretsOf(d);
    const names = [
      ...(secrets.s3 ? ['secretAccessKey'] : []),
      ...(secrets.sftp?.privateKey ? ['privateKey'] : []),
      ...(secrets.sftp?.privateKeyPassphrase ? ['privateKeyPassphrase'] : []),
      ...(secrets.sftp?.password ? ['password'] : []),
      ...(secrets.encryptionPassphrase ? ['encryptionPassphrase'] : []),
    ];
    return {
      id: d.id,
      organizationId: d.organization_id,
      name: d.name,
      kind: d.kind,
      s3: d.kind === 's3' ? (d.settings as unknown as S3Settings) : null,
      sftp: d.kind === 'sftp' ? (d.settings as unknown as SftpSettings) : null,
      encrypted: d.encrypted,
      secretsSet: names,
      createdBy: d.created_by,
      createdAt: d.created_at.toISOString(),
      copies: usage.copies,
      bytes: usage.bytes,
    };
  }

  secretsOf(d: Destination): DestinationSecrets {
    return JSON.parse(this.deps.box.open(d.secrets, sealedAt('destinations', 'secrets', d.id))) as DestinationSecrets;
  }

  /** What the storage layer needs to reach it, secrets opened. Internal: never leaves the server. */
  targetOf(d: Destination): StoreTarget {
    const secrets = this.secretsOf(d);
    if (d.kind === 's3')
      return {
        kind: 's3',
        settings: d.settings as unknown as S3Settings,
        secrets: { secretAccessKey: secrets.s3?.secretAccessKey ?? '' },
      };
    return { kind: 'sftp', settings: d.settings as unknown as SftpSettings, secrets: secrets.sftp ?? {} };
  }

  passphraseOf(d: Destination): string | null {
    return d.encrypted ? (this.secretsOf(d).encryptionPassphrase ?? null) : null;
  }

  async row(id: string): Promise<Destination> {
    const found = isUuid(id)
      ? await this.deps.db.selectFrom('destinations').selectAll().where('id', '=', id).executeTakeFirst()
      : undefined;
    if (!found) throw notFound('Destination');
    return found;
  }

  /** One the actor may see: its organization's (any member), or a platform-wide one. */
  async get(actor: Actor, id: string, minimum: 'member' | 'admin' = 'member'): Promise<Destination> {
    const d = await this.row(id);
    if (d.organization_id) await requireAccess(this.deps.db, actor, d.organization_id, minimum, 'Destination');
    else if (minimum === 'admin') requirePlatformAdmin(actor);
    return d;
  }

  /** One destination as the actor may see it, with what it keeps. */
  async viewOne(actor: Actor, id: string): Promise<DestinationView> {
    const d = await this.get(actor, id);
    return this.view(d, (await this.usage([d.id])).get(d.id), actor);
  }

  /** Destinations an organization's backups may go to: its own and the platform-wide ones. */
  async usableBy(organizationId: string, ids: readonly string[]): Promise<Destination[]> {
    if (ids.length === 0) return [];
    for (const id of ids) if (!isUuid(id)) throw invalid('destinationIds', `${id} is not a destination id.`);
    const rows = await this.deps.db
      .selectFrom('destinations')
      .selectAll()
      .where('id', 'in', [...ids])
      .where((eb) => eb.or([eb('organization_id', '=', organizationId), eb('organization_id', 'is', null)]))
      .execute();
    const missing = ids.filter((id) => !rows.some((r) => r.id === id));
    if (missing.length) throw invalid('destinationIds', `No such destination for this organization: ${missing[0]}.`);
    return ids.map((id) => rows.find((r) => r.id === id) as Destination);
  }

  async list(actor: Actor, organizationId?: string): Promise<DestinationView[]> {
    let q = this.deps.db.selectFrom('destinations').selectAll();
    if (organizationId !== undefined) {
      if (!isUuid(organizationId)) throw notFound('Organization');
      await requireAccess(this.deps.db, actor, organizationId, 'member');
      q = q.where((eb) => eb.or([eb('organization_id', '=', organizationId), eb('organization_id', 'is', null)]));
    } else if (actor.kind === 'user' && !actor.isPlatformAdmin) {
      const visible = memberOrganizations(this.deps.db, actor);
      q = q.where((eb) => eb.or([eb('organization_id', 'is', null), eb('organization_id', 'in', visible)]));
    }
    const rows = await q.orderBy('name').execute();
    const usage = await this.usage(rows.map((r) => r.id));
    return rows.map((r) => this.view(r, usage.get(r.id), actor));
  }

  private async usage(ids: string[]): Promise<Map<string, { copies: number; bytes: number }>> {
    const map = new Map<string, { copies: number; bytes: number }>();
    if (ids.length === 0) return map;
    const rows = await this.deps.db
      .selectFrom('backup_copies')
      .select((eb) => [
        'destination_id',
        eb.fn.countAll<string>().as('copies'),
        eb.fn.coalesce(eb.fn.sum<string>('size_bytes'), eb.val('0')).as('bytes'),
      ])
      .where('destination_id', 'in', ids)
      .where('status', '=', 'verified')
      .groupBy('destination_id')
      .execute();
    for (const r of rows) map.set(r.destination_id, { copies: Number(r.copies), bytes: Number(r.bytes) });
    return map;
  }

  async create(ctx: RequestContext, raw: unknown): Promise<DestinationView> {
    const input = object(raw, 'body');
    const organizationId = input.organizationId ?? null;
    if (organizationId === null) requirePlatformAdmin(ctx.actor);
    else {
      if (typeof organizationId !== 'string' || !isUuid(organizationId)) throw notFound('Organization');
      await requireAccess(this.deps.db, ctx.actor, organizationId, 'admin');
    }
    const name = text(input, 'name', { max: 60 }).trim();
    const kind = input.kind;
    if (kind !== 's3' && kind !== 'sftp') throw invalid('kind', 'kind must be s3 or sftp.');
    const secrets: DestinationSecrets = {};
    let settings: S3Settings | SftpSettings;
    if (kind === 's3') {
      const s3 = validateS3(object(input.s3, 's3'));
      settings = s3.settings;
      secrets.s3 = { secretAccessKey: s3.secret };
    } else {
      const sftp = validateSftp(object(input.sftp, 'sftp'));
      settings = sftp.settings;
      secrets.sftp = sftp.secrets;
    }
    const encryption = input.encryption === undefined || input.encryption === null ? null : input.encryption;
    if (encryption !== null) {
      const passphrase = object(encryption, 'encryption').passphrase;
      const { min, max } = passphraseLength;
      if (typeof passphrase !== 'string' || passphrase.length < min || passphrase.length > max)
        throw invalid('encryption', `The encryption passphrase must be ${min} to ${max} characters.`);
      secrets.encryptionPassphrase = passphrase;
    }
    const exists = await this.deps.db
      .selectFrom('destinations')
      .select('id')
      .where((eb) =>
        organizationId === null
          ? eb('organization_id', 'is', null)
          : eb('organization_id', '=', organizationId as string),
      )
      .where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase()))
      .executeTakeFirst();
    if (exists) throw new MarinaError('MARINA_E_CONFLICT', `A destination named "${name}" exists already.`);
    const pinned = await checkReachable(
      this.guard,
      this.deps.probe,
      kind === 's3'
        ? { kind, settings: settings as S3Settings }
        : { kind, settings: settings as SftpSettings, secrets: secrets.sftp ?? {} },
    );
    if (pinned) settings = { ...(settings as SftpSettings), hostKeyFingerprint: pinned };
    // Known before the insert: the sealed secrets are bound to it.
    const id = crypto.randomUUID();
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('destinations')
        .values({
          id,
          organization_id: organizationId as string | null,
          name,
          kind,
          settings: JSON.stringify(settings),
          secrets: this.deps.box.seal(JSON.stringify(secrets), sealedAt('destinations', 'secrets', id)),
          encrypted: encryption !== null,
          created_by: ctx.actor.kind === 'user' ? ctx.actor.email : ctx.actor.label,
          updated_at: this.deps.clock.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'destination.create',
          organizationId: organizationId as string | null,
          target: { type: 'destination', id: inserted.id, label: name },
          // Where, never with what: the secrets stay out of the trail.
          details: { kind, encrypted: encryption !== null, ...this.where(inserted) },
        },
        trx,
      );
      return inserted;
    });
    return this.view(row);
  }

  private where(d: Destination): Record<string, unknown> {
    if (d.kind === 's3') {
      const s = d.settings as unknown as S3Settings;
      return { endpoint: s.endpoint, bucket: s.bucket, prefix: s.prefix };
    }
    const s = d.settings as unknown as SftpSettings;
    return { host: s.host, port: s.port, username: s.username, folder: s.folder };
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    const d = await this.get(ctx.actor, id, 'admin');
    const live = await this.deps.db
      .selectFrom('backup_copies')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('destination_id', '=', d.id)
      .where('status', 'in', ['pending', 'uploading', 'verified'])
      .executeTakeFirstOrThrow();
    if (Number(live.n) > 0)
      throw new MarinaError(
        'MARINA_E_DESTINATION_IN_USE',
        `${live.n} backup copies are kept at "${d.name}"; delete those backups (or let retention do it) first.`,
      );
    const used = await this.deps.db
      .selectFrom('schedules')
      .select('instance_id')
      .where(sql<boolean>`destination_ids @> ${JSON.stringify([d.id])}::jsonb`)
      .executeTakeFirst();
    if (used)
      throw new MarinaError(
        'MARINA_E_DESTINATION_IN_USE',
        `A backup schedule still sends copies to "${d.name}"; change that schedule first.`,
      );
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('backup_copies').where('destination_id', '=', d.id).execute();
      await trx.deleteFrom('destinations').where('id', '=', d.id).execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'destination.delete',
          organizationId: d.organization_id,
          target: { type: 'destination', id: d.id, label: d.name },
        },
        trx,
      );
    });
  }

  /**
   * Writes, reads back and deletes a probe. An SFTP server seen for the first time has its host key
   * pinned from then on: a different key later is refused.
   */
  async test(ctx: RequestContext, id: string): Promise<DestinationTestView> {
    const d = await this.get(ctx.actor, id, 'admin');
    let result: ProbeResult;
    try {
      result = await this.deps.probe(this.targetOf(d), this.guard);
    } catch (error) {
      const refused = outboundError(error);
      if (!refused) throw error;
      // One answer, no steps or timings: the test must not tell internal hosts apart.
      await this.deps.audit.record(ctx, {
        action: 'destination.test',
        organizationId: d.organization_id,
        target: { type: 'destination', id: d.id, label: d.name },
        details: { ok: false, reason: 'refused' },
      });
      throw refused;
    }
    let pinned = false;
    const settings = d.settings as unknown as SftpSettings;
    const connected = result.steps.some((s) => s.step === 'connect' && s.ok);
    if (d.kind === 'sftp' && settings.hostKeyFingerprint === null && result.hostKeyFingerprint && connected) {
      await this.pinHostKey(ctx, d, result.hostKeyFingerprint);
      pinned = true;
    }
    await this.deps.audit.record(ctx, {
      action: 'destination.test',
      organizationId: d.organization_id,
      target: { type: 'destination', id: d.id, label: d.name },
      details: { ok: result.ok, reason: result.error?.reason ?? null },
    });
    return { ...result, pinned };
  }

  async pinHostKey(ctx: RequestContext, d: Destination, fingerprint: string): Promise<void> {
    const settings = { ...(d.settings as unknown as SftpSettings), hostKeyFingerprint: fingerprint };
    await this.deps.db
      .updateTable('destinations')
      .set({ settings: JSON.stringify(settings), updated_at: this.deps.clock.now() })
      .where('id', '=', d.id)
      .execute();
    await this.deps.audit.record(ctx, {
      action: 'destination.pin-host-key',
      organizationId: d.organization_id,
      target: { type: 'destination', id: d.id, label: d.name },
      details: { fingerprint },
    });
  }
}
