import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { DomainCertificateState, Domain as DomainRow, Instance } from '../../db/schema.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { requirePermission, requirePermissionOn } from '../../platform/permissions.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { isUuid } from '../../platform/validation.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { InstanceService } from '../instances/service.js';
import { checkCertificate } from './certificates.js';
import { DomainChecks } from './checks.js';
import { PrimaryNames } from './primary.js';
import type { InstanceDomains } from './schemas.js';
import { type CertificateProbe, type DomainsSettings, type EdgeLink, httpsUrl } from './settings.js';
import { defaultMethod, normalizeDomain, requireMethod } from './validation.js';
import type { DnsChecker } from './verification.js';
import { type DomainView, domainView } from './views.js';

export interface DomainServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  logger: Logger;
  instances: InstanceService;
  databaseServers: DatabaseServerService;
  settings: DomainsSettings;
  dns: DnsChecker;
  edge?: EdgeLink;
  probeCertificate?: CertificateProbe;
  /** Called after an instance's primary name changed (its outgoing mail follows it: src/modules/mail). */
  primaryChanged?: (instanceId: string) => Promise<unknown>;
}

/** How old a certificate state may be before reading the list probes the edge again. */
const CERTIFICATE_STATE_MAX_AGE_MS = 60_000;

/**
 * Custom domains of instances: added by an organization's admins, proved by DNS (a CNAME to the
 * platform name, a TXT token, or an apex name's A/AAAA plus the token), routed by the edge once
 * verified, one of them the instance's primary name, optionally with the organization's own
 * certificate. Every query is scoped by organization: outsiders get "not found".
 */
export class DomainService {
  readonly checks: DomainChecks;
  readonly primary: PrimaryNames;
  private readonly platformCertificates = new Map<string, DomainCertificateState>();

  constructor(private readonly deps: DomainServiceDeps) {
    this.primary = new PrimaryNames(deps);
    this.checks = new DomainChecks(deps, this.primary, (row) => this.refreshCertificate(row));
  }

  get edgeEnabled(): boolean {
    return this.deps.settings.baseDomain !== null;
  }

  /** A domain of an organization the actor has the role in; anything else is "not found". */
  async row(actor: Actor, id: string, minimum: 'viewer' | 'admin' = 'viewer'): Promise<DomainRow> {
    if (!isUuid(id)) throw notFound('Domain');
    const row = await this.deps.db.selectFrom('domains').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Domain');
    await requirePermission(
      this.deps.db,
      actor,
      row.organization_id,
      minimum === 'admin' ? 'domain.manage' : 'domain.view',
      undefined,
      'Domain',
    );
    return row;
  }

  private async instanceOf(actor: Actor, instanceId: string, minimum: 'viewer' | 'admin'): Promise<Instance> {
    const instance = await this.deps.instances.get(actor, instanceId);
    if (minimum === 'admin') await requirePermissionOn(this.deps.db, actor, instance, 'domain.manage');
    return instance;
  }

  async view(row: DomainRow): Promise<DomainView> {
    return domainView(row, await this.deps.instances.row(row.instance_id), this.deps.settings);
  }

  async list(actor: Actor, instanceId: string): Promise<Static<typeof InstanceDomains>> {
    const instance = await this.instanceOf(actor, instanceId, 'viewer');
    let rows = await this.deps.db
      .selectFrom('domains')
      .selectAll()
      .where('instance_id', '=', instance.id)
      .where('organization_id', '=', instance.organization_id)
      .orderBy('created_at')
      .orderBy('hostname')
      .execute();
    if (this.edgeEnabled && this.deps.probeCertificate) {
      const now = this.deps.clock.now().getTime();
      const stale = rows.filter(
        (r) =>
          r.status === 'verified' &&
          (!r.certificate_state || now - Date.parse(r.certificate_state.checkedAt) > CERTIFICATE_STATE_MAX_AGE_MS),
      );
      if (stale.length > 0) {
        await Promise.all(stale.map((r) => this.refreshCertificate(r)));
        rows = await this.deps.db
          .selectFrom('domains')
          .selectAll()
          .where('instance_id', '=', instance.id)
          .orderBy('created_at')
          .orderBy('hostname')
          .execute();
      }
    }
    const platform = instance.hostname
      ? {
          hostname: instance.hostname,
          url: httpsUrl(this.deps.settings, instance.hostname),
          certificate: await this.platformCertificate(instance.hostname),
        }
      : null;
    return {
      edge: this.edgeEnabled,
      platform,
      proxyAddresses: this.deps.settings.proxyAddresses,
      domains: rows.map((r) => domainView(r, instance, this.deps.settings)),
    };
  }

  /** Adds a name to an instance (pending) and checks its DNS once at once. */
  async add(ctx: RequestContext, instanceId: string, input: { hostname: unknown; method?: unknown }) {
    const instance = await this.instanceOf(ctx.actor, instanceId, 'admin');
    const name = normalizeDomain(input.hostname, this.deps.settings.baseDomain);
    if (!this.edgeEnabled)
      throw new MarinaError(
        'MARINA_E_CONFLICT',
        'Custom domains need the edge: set MARINA_BASE_DOMAIN (and run the proxy) first.',
      );
    const method = input.method === undefined ? this.methodFor(name.ascii) : requireMethod(input.method);
    if (method === 'apex' && this.deps.settings.proxyAddresses.length === 0)
      throw new MarinaError(
        'MARINA_E_DOMAIN_INVALID',
        'The apex method needs the proxy’s public addresses (MARINA_EDGE_ADDRESSES), which are not configured: use cname or txt.',
        { field: 'method', reason: 'no proxy addresses' },
      );
    const row = await this.deps.db.transaction().execute(async (trx) => {
      // The plan's custom domains, counted under the organization's lock (src/modules/plans).
      const quotas = this.deps.instances.quotas;
      await quotas.requireOperational(trx, instance.organization_id, 'add domains');
      await quotas.require(trx, instance.organization_id, { kind: 'domain' });
      const clash = await trx
        .selectFrom('domains')
        .innerJoin('instances', 'instances.id', 'domains.instance_id')
        .select(['instances.name'])
        .where('domains.organization_id', '=', instance.organization_id)
        .where('domains.hostname', '=', name.ascii)
        .executeTakeFirst();
      if (clash)
        throw new MarinaError(
          'MARINA_E_CONFLICT',
          `${name.display} is already a domain of the instance "${clash.name}" of this organization.`,
          { field: 'hostname' },
        );
      const inserted = await trx
        .insertInto('domains')
        .values({
          organization_id: instance.organization_id,
          instance_id: instance.id,
          hostname: name.ascii,
          method,
          token: randomBytes(24).toString('base64url'),
          created_at: this.deps.clock.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'domain.add',
          organizationId: instance.organization_id,
          target: { type: 'domain', id: inserted.id, label: name.ascii },
          details: { instanceId: instance.id, method },
        },
        trx,
      );
      return inserted;
    });
    return this.view(await this.checks.run(ctx, row));
  }

  /** Apex needs the proxy's addresses; without them a registrable name can only prove itself by TXT. */
  private methodFor(ascii: string) {
    const method = defaultMethod(ascii);
    return method === 'apex' && this.deps.settings.proxyAddresses.length === 0 ? 'txt' : method;
  }

  async verify(ctx: RequestContext, id: string): Promise<DomainView> {
    const row = await this.row(ctx.actor, id, 'admin');
    return this.view(await this.checks.run(ctx, row));
  }

  async makePrimary(ctx: RequestContext, id: string): Promise<DomainView> {
    const row = await this.row(ctx.actor, id, 'admin');
    return this.view(await this.primary.make(ctx, row));
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    const row = await this.row(ctx.actor, id, 'admin');
    await this.primary.remove(ctx, row);
  }

  async uploadCertificate(
    ctx: RequestContext,
    id: string,
    input: { certificate: unknown; key: unknown },
  ): Promise<DomainView> {
    const row = await this.row(ctx.actor, id, 'admin');
    const hostname = normalizeDomain(row.hostname, this.deps.settings.baseDomain).ascii;
    const own = checkCertificate({ ...input, hostname, now: this.deps.clock.now() });
    const updated = await this.deps.db.transaction().execute(async (trx) => {
      const saved = await trx
        .updateTable('domains')
        .set({
          certificate_pem: (input.certificate as string).trim(),
          certificate_key: this.deps.box.seal(
            (input.key as string).trim(),
            sealedAt('domains', 'certificate_key', row.id),
          ),
        })
        .where('id', '=', row.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'domain.certificate_upload',
          organizationId: row.organization_id,
          target: { type: 'domain', id: row.id, label: row.hostname },
          details: { subject: own.subject, issuer: own.issuer, notAfter: own.notAfter },
        },
        trx,
      );
      return saved;
    });
    this.deps.edge?.sync(`certificate uploaded for ${row.hostname}`);
    return this.view(updated);
  }

  async removeCertificate(ctx: RequestContext, id: string): Promise<DomainView> {
    const row = await this.row(ctx.actor, id, 'admin');
    const updated = await this.deps.db.transaction().execute(async (trx) => {
      const saved = await trx
        .updateTable('domains')
        .set({ certificate_pem: null, certificate_key: null })
        .where('id', '=', row.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      if (row.certificate_pem)
        await this.deps.audit.record(
          ctx,
          {
            action: 'domain.certificate_remove',
            organizationId: row.organization_id,
            target: { type: 'domain', id: row.id, label: row.hostname },
          },
          trx,
        );
      return saved;
    });
    if (row.certificate_pem) this.deps.edge?.sync(`certificate removed for ${row.hostname}`);
    return this.view(updated);
  }

  /** The uploaded key of a domain, opened, for the edge's configuration. */
  openCertificateKey(row: Pick<DomainRow, 'id' | 'certificate_key'>): string | null {
    return row.certificate_key
      ? this.deps.box.open(row.certificate_key, sealedAt('domains', 'certificate_key', row.id))
      : null;
  }

  /**
   * Asks the edge what it serves for a verified name and keeps it (never fails the caller). A
   * handshake makes the proxy order a certificate on demand, so only names proven to reach the edge
   * are asked: a CNAME to the platform name or A records to the proxy (or an uploaded certificate,
   * which needs no order). A name proven by TXT alone may point elsewhere still: its order would fail
   * and be retried by the proxy, using up the CA's allowance of failed validations for the name.
   */
  private async refreshCertificate(row: Pick<DomainRow, 'id' | 'hostname' | 'method' | 'certificate_pem'>) {
    const probe = this.deps.probeCertificate;
    if (!probe || !this.edgeEnabled) return;
    if (row.method === 'txt' && !row.certificate_pem) return;
    try {
      const state = await probe(row.hostname);
      await this.deps.db.updateTable('domains').set({ certificate_state: state }).where('id', '=', row.id).execute();
    } catch (error) {
      this.deps.logger.warn({ err: error, hostname: row.hostname }, 'the certificate probe failed');
    }
  }

  private async platformCertificate(hostname: string): Promise<DomainCertificateState | null> {
    const probe = this.deps.probeCertificate;
    if (!probe || !this.edgeEnabled) return null;
    const known = this.platformCertificates.get(hostname);
    if (known && this.deps.clock.now().getTime() - Date.parse(known.checkedAt) <= CERTIFICATE_STATE_MAX_AGE_MS)
      return known;
    try {
      const state = await probe(hostname);
      this.platformCertificates.set(hostname, state);
      return state;
    } catch (error) {
      this.deps.logger.warn({ err: error, hostname }, 'the certificate probe failed');
      return known ?? null;
    }
  }
}
