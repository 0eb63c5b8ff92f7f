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
import { outcomeOf, type TestOutcome, testBeforeSave } from './destination-checks.js';
import { object, passphraseLength, text, validateS3, validateSftp } from './destination-input.js';
import { healthOf } from './schedule-status.js';
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

export { passphraseLength, validHost } from './destination-input.js';

/** A destination just saved, with the connection test it passed (or failed, saved anyway). */
export interface SavedDestination {
  destination: DestinationView;
  test: DestinationTestView;
}

export type ProbeFunction = (target: StoreTarget, guard: OutboundGuard) => Promise<ProbeResult>;

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
        // Whether it works, not why not: a failure's message may name where it is.
        health: { ...healthOf(d), error: null },
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
      health: healthOf(d),
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
  async get(actor: Actor, id: string, minimum: 'viewer' | 'admin' = 'viewer'): Promise<Destination> {
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
      await requireAccess(this.deps.db, actor, organizationId, 'viewer');
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

  /** A destination's own name, once per owner (an organization, or the platform), in any case. */
  private async nameTaken(organizationId: string | null, name: string, except?: string): Promise<boolean> {
    let q = this.deps.db
      .selectFrom('destinations')
      .select('id')
      .where((eb) =>
        organizationId === null ? eb('organization_id', 'is', null) : eb('organization_id', '=', organizationId),
      )
      .where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase()));
    if (except) q = q.where('id', '<>', except);
    return (await q.executeTakeFirst()) !== undefined;
  }

  /** Runs the connection test before a save (see `testBeforeSave`); an SFTP key seen on connecting is pinned. */
  private async testForSave(target: StoreTarget, saveAnyway: boolean): Promise<DestinationTestView> {
    const result = await testBeforeSave(this.guard, this.deps.probe, target, saveAnyway);
    const connected = result.steps.some((s) => s.step === 'connect' && s.ok);
    const pinned =
      target.kind === 'sftp' && target.settings.hostKeyFingerprint === null && connected && !!result.hostKeyFingerprint;
    return { ...result, pinned };
  }

  async create(ctx: RequestContext, raw: unknown): Promise<SavedDestination> {
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
    if (await this.nameTaken(organizationId as string | null, name))
      throw new MarinaError('MARINA_E_CONFLICT', `A destination named "${name}" exists already.`);
    const test = await this.testForSave(
      kind === 's3'
        ? { kind, settings: settings as S3Settings, secrets: { secretAccessKey: secrets.s3?.secretAccessKey ?? '' } }
        : { kind, settings: settings as SftpSettings, secrets: secrets.sftp ?? {} },
      input.saveAnyway === true,
    );
    if (test.pinned) settings = { ...(settings as SftpSettings), hostKeyFingerprint: test.hostKeyFingerprint };
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
          ...outcomeOf(test, this.deps.clock.now()),
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
          details: { kind, encrypted: encryption !== null, tested: test.ok, ...this.where(inserted) },
        },
        trx,
      );
      return inserted;
    });
    return { destination: this.view(row), test };
  }

  /**
   * Edits a destination: its name and connection fields. Secrets are kept unless replaced (an empty
   * string removes an SFTP password or key); the encryption never changes, since its copies were
   * made with it. The connection is tested again before saving, as when it was added.
   */
  async update(ctx: RequestContext, id: string, raw: unknown): Promise<SavedDestination> {
    const d = await this.get(ctx.actor, id, 'admin');
    const input = object(raw, 'body');
    if (input.kind !== undefined && input.kind !== d.kind)
      throw invalid('kind', 'The kind of a destination cannot change; add a new destination instead.');
    if (input.encryption !== undefined)
      throw invalid('encryption', 'The encryption of a destination cannot change: its copies were made with it.');
    const name = input.name === undefined ? d.name : text(input, 'name', { max: 60 }).trim();
    if (name.toLowerCase() !== d.name.toLowerCase() && (await this.nameTaken(d.organization_id, name, d.id)))
      throw new MarinaError('MARINA_E_CONFLICT', `A destination named "${name}" exists already.`);
    const secrets = this.secretsOf(d);
    let settings: S3Settings | SftpSettings;
    let target: StoreTarget;
    if (d.kind === 's3') {
      const changes = input.s3 === undefined ? {} : object(input.s3, 's3');
      const s3 = validateS3({ ...d.settings, secretAccessKey: secrets.s3?.secretAccessKey, ...changes });
      settings = s3.settings;
      secrets.s3 = { secretAccessKey: s3.secret };
      target = { kind: 's3', settings: s3.settings, secrets: secrets.s3 };
    } else {
      const changes = input.sftp === undefined ? {} : object(input.sftp, 'sftp');
      const old = d.settings as unknown as SftpSettings;
      const moved = (changes.host ?? old.host) !== old.host || (changes.port ?? old.port) !== old.port;
      // Another server has another key: it is pinned again from the test, unless one is given.
      const fingerprint = changes.hostKeyFingerprint ?? (moved ? null : old.hostKeyFingerprint);
      const sftp = validateSftp({ ...old, ...secrets.sftp, ...changes, hostKeyFingerprint: fingerprint });
      settings = sftp.settings;
      secrets.sftp = sftp.secrets;
      target = { kind: 'sftp', settings: sftp.settings, secrets: sftp.secrets };
    }
    const test = await this.testForSave(target, input.saveAnyway === true);
    if (test.pinned) settings = { ...(settings as SftpSettings), hostKeyFingerprint: test.hostKeyFingerprint };
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('destinations')
        .set({
          name,
          settings: JSON.stringify(settings),
          secrets: this.deps.box.seal(JSON.stringify(secrets), sealedAt('destinations', 'secrets', d.id)),
          updated_at: this.deps.clock.now(),
          ...outcomeOf(test, this.deps.clock.now()),
        })
        .where('id', '=', d.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'destination.update',
          organizationId: d.organization_id,
          target: { type: 'destination', id: d.id, label: name },
          // Which fields changed, never the secrets' values.
          details: { changed: Object.keys({ ...(input.s3 as object), ...(input.sftp as object) }), tested: test.ok },
        },
        trx,
      );
      return updated;
    });
    return { destination: this.view(row, (await this.usage([row.id])).get(row.id), ctx.actor), test };
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
      await this.recordOutcome(d.id, {
        last_tested_at: this.deps.clock.now(),
        last_test_ok: false,
        last_test_error: refused.message,
      });
      await this.deps.audit.record(ctx, {
        action: 'destination.test',
        organizationId: d.organization_id,
        target: { type: 'destination', id: d.id, label: d.name },
        details: { ok: false, reason: 'refused' },
      });
      throw refused;
    }
    await this.recordOutcome(d.id, outcomeOf(result, this.deps.clock.now()));
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

  private async recordOutcome(id: string, outcome: TestOutcome): Promise<void> {
    await this.deps.db.updateTable('destinations').set(outcome).where('id', '=', id).execute();
  }

  async pinHostKey(ctx: RequestContext, d: Destination, fingerprint: string): Promise<void> {
    const settings = { ...(d.settings as unknown as SftpSettings), hostKeyFingerprint: fingerprint };
    await this.deps.db
      .updateTable('destinations')
      .set({ settings: JSON.stringify(settings), updated_at: this.deps.clock.now() })
      .where('id', '=', d.id)
      .execute();
    await this.deps.audit.record(ctx, {
      action: 'destination.pin_host_key',
      organizationId: d.organization_id,
      target: { type: 'destination', id: d.id, label: d.name },
      details: { fingerprint },
    });
  }
}
