import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Static } from 'typebox';
import { databaseSize } from '../../adapters/postgres/admin.js';
import type { Db } from '../../db/database.js';
import { memberRoles, type Stage } from '../../db/schema.js';
import { sizeLimits } from '../../odoo/sizing.js';
import { requireAccess } from '../../platform/access.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import type { Notices } from '../../platform/notices.js';
import type { QuotaAsk, QuotaGate } from '../../platform/quota.js';
import { isUuid } from '../../platform/validation.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { HostService } from '../hosts/hosts.js';
import { measureFilestore, measureSessions, usageProbeNames } from './filestore-size.js';
import { askRefusal, subscriptionOf } from './gate.js';
import { holdingsOf, limitsOf, MB } from './limits.js';
import type { OrganizationUsage } from './schemas.js';
import { ownerEmails } from './subscriptions.js';

export type UsageView = Static<typeof OrganizationUsage>;

/** The storage warnings: mailed once each when crossed, re-armed when usage falls below 75 %. */
const ALERT_LEVELS = [100, 80] as const;
const REARM_PERCENT = 75;

export interface UsageServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  gate: QuotaGate;
  hosts: Pick<HostService, 'reachableRuntime'>;
  databaseServers: Pick<DatabaseServerService, 'get' | 'connection'>;
  notices?: Notices;
  intervalMs: number;
  /** Marina's address, for the mails (MARINA_PUBLIC_URL). */
  portalUrl: string;
  /** The one-off that measures filestores (filestore-size.ts): the tools image, Marina's namespace. */
  filestoreProbe: { image: string; namespace: string };
}

/**
 * What an organization uses of its plan. Storage is measured by Marina (pg_database_size through
 * the superuser connection, `du` of the filestore from a read-only one-off), never read from the
 * tenant's tables, which the tenant can write.
 */
export class UsageService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: UsageServiceDeps) {}

  /** The organization's plan, usage and what it may still do (any member; outsiders get 404). */
  async report(actor: Actor, organizationId: string): Promise<UsageView> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    const lowest = memberRoles[memberRoles.length - 1];
    if (!lowest) throw new Error('no member roles');
    await requireAccess(this.deps.db, actor, organizationId, lowest);
    const { db } = this.deps;
    const [found, holdings] = await Promise.all([subscriptionOf(db, organizationId), holdingsOf(db, organizationId)]);
    const operational = await this.deps.gate.requireOperational(db, organizationId, 'do this').then(
      () => undefined,
      (error: unknown) => (error instanceof MarinaError ? error.message : String(error)),
    );
    const can = async (...asks: QuotaAsk[]) => {
      if (operational) return { ok: false, reason: operational };
      if (!found) return { ok: true, reason: null };
      for (const ask of asks) {
        const refusal = await askRefusal(db, organizationId, found.plan, ask);
        if (refusal) return { ok: false, reason: refusal.message };
      }
      return { ok: true, reason: null };
    };
    // The smallest size: whether the stage has room at all; the size is checked when chosen.
    const smallest = { cpus: sizeLimits.cpus.min, memoryMb: sizeLimits.memoryMb.min };
    const create = (stage: Stage) => can({ kind: 'instance', stage, ...smallest }, { kind: 'data' });
    return {
      plan: found ? { id: found.plan.id, slug: found.plan.slug, name: found.plan.name } : null,
      status: found?.subscription.status ?? null,
      // The portal's banner names the kind; the admin's reason stays theirs.
      suspendedKind: found?.subscription.status === 'suspended' ? (found.subscription.suspended_kind ?? 'admin') : null,
      trialEndsAt: found?.subscription.trial_ends_at?.toISOString() ?? null,
      limits: found ? limitsOf(found.plan) : null,
      stagingAllowed: found ? found.plan.staging_allowed : true,
      usage: {
        ...holdings.instances,
        customDomains: holdings.customDomains,
        storageBytes: holdings.storageBytes,
        offsiteBytes: holdings.offsiteBytes,
        measuredAt: holdings.measuredAt?.toISOString() ?? null,
      },
      can: {
        createProduction: await create('production'),
        createStaging: await create('staging'),
        createDevelopment: await create('development'),
        addDomain: await can({ kind: 'domain' }),
        addData: await can({ kind: 'data' }),
        offsite: await can({ kind: 'offsite', bytes: 0 }),
        start: operational ? { ok: false, reason: operational } : { ok: true, reason: null },
      },
    };
  }

  /**
   * Measures one instance and records it, the filestore from outside the instance's container
   * (filestore-size.ts), so running or not; the database whenever its server answers.
   */
  async measure(instanceId: string): Promise<void> {
    const { db } = this.deps;
    const instance = await db
      .selectFrom('instances')
      .select([
        'id',
        'organization_id',
        'host_id',
        'container_name',
        'volume_name',
        'db_name',
        'database_server_id',
        'status',
        'undo_until',
      ])
      .where('id', '=', instanceId)
      .executeTakeFirst();
    if (!instance || instance.status === 'deleting' || instance.status === 'provisioning') return;
    const before = await db
      .selectFrom('instance_usage')
      .select(['database_bytes', 'filestore_bytes', 'odoo_sessions'])
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
    let databaseBytes: number | null = null;
    let filestoreBytes: number | null = null;
    if (instance.database_server_id) {
      const server = await this.deps.databaseServers.get(instance.database_server_id);
      const connection = await this.deps.databaseServers.connection(server);
      databaseBytes = await databaseSize(connection, instance.db_name).catch(() => null);
      // What a restore replaced, kept as its undo, is the tenant's storage too (its folder is on the volume).
      if (databaseBytes !== null && instance.undo_until)
        databaseBytes += await databaseSize(connection, `${instance.db_name}_undo`).catch(() => 0);
    }
    const runtime = await this.deps.hosts.reachableRuntime(instance.host_id).catch(() => undefined);
    // A partial total beats none; no figure at all keeps the last one (never a made-up 0).
    const filestore = runtime ? await measureFilestore(runtime, instance, this.deps.filestoreProbe) : undefined;
    if (filestore !== undefined) filestoreBytes = filestore;
    if (databaseBytes === null && filestoreBytes === null) return;
    const sessions = runtime ? await measureSessions(runtime, instance, this.deps.filestoreProbe) : undefined;
    const values = {
      database_bytes: databaseBytes ?? before?.database_bytes ?? 0,
      filestore_bytes: filestoreBytes ?? before?.filestore_bytes ?? 0,
      odoo_sessions: sessions ?? before?.odoo_sessions ?? null,
      measured_at: this.deps.clock.now(),
    };
    await db
      .insertInto('instance_usage')
      .values({ instance_id: instance.id, organization_id: instance.organization_id, ...values })
      .onConflict((oc) => oc.column('instance_id').doUpdateSet(values))
      .execute();
    await this.checkStorage(instance.organization_id);
  }

  /**
   * Removes what a measurement left when Marina stopped under it (its one-offs outlive the process
   * that runs them): asked after an interrupted backup, which measures beside its write.
   */
  async removeProbes(instanceId: string): Promise<void> {
    const instance = await this.deps.db
      .selectFrom('instances')
      .select(['host_id', 'container_name'])
      .where('id', '=', instanceId)
      .executeTakeFirst();
    if (!instance) return;
    const runtime = await this.deps.hosts.reachableRuntime(instance.host_id);
    const names = usageProbeNames(instance.container_name);
    await Promise.all([runtime.remove(names.du), runtime.remove(names.sessions)]);
  }

  /** Measures every instance, one after the other (a slow one does not stop the rest). */
  async measureAll(): Promise<void> {
    const instances = await this.deps.db
      .selectFrom('instances')
      .select('id')
      .where('status', 'not in', ['deleting', 'provisioning'])
      .orderBy('id')
      .execute();
    for (const { id } of instances) {
      await this.measure(id).catch((error: unknown) =>
        this.deps.logger.warn({ err: error, instance: id }, 'usage: could not measure the instance'),
      );
    }
  }

  /**
   * Mails the owners once when storage crosses 80 % and once at 100 % (the `storage_alert`
   * latch, in the same transaction as the mail); falling below 75 % re-arms both.
   */
  async checkStorage(organizationId: string): Promise<void> {
    const { db, clock } = this.deps;
    const mails = await db.transaction().execute(async (trx) => {
      const found = await trx
        .selectFrom('subscriptions')
        .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
        .select(['subscriptions.storage_alert', 'plans.storage_mb', 'plans.name'])
        .where('subscriptions.organization_id', '=', organizationId)
        .forUpdate()
        .executeTakeFirst();
      if (!found || found.storage_mb === null || found.storage_mb === 0) return 0;
      const used = (await holdingsOf(trx, organizationId)).storageBytes;
      const percent = (used / (found.storage_mb * MB)) * 100;
      const reached = ALERT_LEVELS.find((level) => percent >= level) ?? 0;
      if (reached === 0) {
        if (percent < REARM_PERCENT && found.storage_alert !== 0)
          await trx
            .updateTable('subscriptions')
            .set({ storage_alert: 0 })
            .where('organization_id', '=', organizationId)
            .execute();
        return 0;
      }
      if (reached <= found.storage_alert) return 0;
      const now = clock.now();
      await trx
        .updateTable('subscriptions')
        .set({ storage_alert: reached, updated_at: now })
        .where('organization_id', '=', organizationId)
        .execute();
      const notices = this.deps.notices;
      if (!notices) return 0;
      const organization = await trx
        .selectFrom('organizations')
        .select('name')
        .where('id', '=', organizationId)
        .executeTakeFirstOrThrow();
      const recipients = await ownerEmails(trx, organizationId);
      const crossing = randomUUID();
      for (const to of recipients) {
        await notices.enqueue(trx, {
          key: 'quota_warning',
          to,
          organizationId,
          // The latch (locked above, committed with the mail) decides "once"; each crossing is its own mail.
          dedupeKey: `quota_warning:${organizationId}:${reached}:${crossing}:${to}`,
          vars: {
            organization: organization.name,
            plan: found.name,
            limit: 'storage (MB: databases and files)',
            usage: Math.round(used / MB),
            allowed: found.storage_mb,
            percent: reached,
            portal_url: this.deps.portalUrl,
          },
        });
      }
      return recipients.length;
    });
    if (mails > 0) await this.deps.notices?.drain().catch(() => undefined);
  }

  /** Measures on a timer (MARINA_USAGE_INTERVAL_MINUTES); one round at a time. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.measureAll()
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'usage: measuring failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
