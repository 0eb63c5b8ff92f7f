import type { Kysely } from 'kysely';
import type { Database, Domain as DomainRow, Instance } from '../../db/schema.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { writeBaseUrl } from './base-url.js';
import type { DomainServiceDeps } from './service.js';
import { httpsUrl } from './settings.js';
import { normalizeDomain } from './validation.js';

/** PostgreSQL's "database does not exist": an instance whose database is not (or no longer) there. */
const NO_SUCH_DATABASE = '3D000';

/**
 * The primary name of an instance: the one custom domain Odoo's links use (web.base.url) and every
 * other name redirects to. Without one, the platform name. Its changes are the edge's too.
 */
export class PrimaryNames {
  constructor(private readonly deps: DomainServiceDeps) {}

  async make(ctx: RequestContext, row: DomainRow): Promise<DomainRow> {
    if (row.status !== 'verified')
      throw new MarinaError(
        'MARINA_E_DOMAIN_NOT_VERIFIED',
        `${row.hostname} is not verified yet: only a verified domain can be the primary name.`,
      );
    const hostname = normalizeDomain(row.hostname, this.deps.settings.baseDomain).ascii;
    const updated = await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('domains')
        .set({ is_primary: false })
        .where('instance_id', '=', row.instance_id)
        .where('is_primary', '=', true)
        .execute();
      const saved = await trx
        .updateTable('domains')
        .set({ is_primary: true })
        .where('id', '=', row.id)
        .where('status', '=', 'verified')
        .returningAll()
        .executeTakeFirst();
      if (!saved) throw new MarinaError('MARINA_E_DOMAIN_NOT_VERIFIED', `${hostname} is no longer verified.`);
      const instance = await trx
        .updateTable('instances')
        .set({ primary_hostname: hostname })
        .where('id', '=', row.instance_id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'domain.make_primary',
          organizationId: row.organization_id,
          target: { type: 'domain', id: row.id, label: hostname },
          details: { instanceId: row.instance_id },
        },
        trx,
      );
      // In the same transaction: if Odoo's database refuses the new URL, nothing changes.
      await this.writeUrl(instance, httpsUrl(this.deps.settings, hostname));
      return saved;
    });
    this.deps.edge?.sync(`primary name of an instance is now ${hostname}`);
    await this.announce(row.instance_id);
    return updated;
  }

  /** Removes a domain: its route, its primary flag (back to the platform name) and its certificate go too. */
  async remove(ctx: RequestContext, row: DomainRow): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('domains').where('id', '=', row.id).execute();
      if (row.is_primary) await this.fallBack(trx, row.instance_id);
      await this.deps.audit.record(
        ctx,
        {
          action: 'domain.remove',
          organizationId: row.organization_id,
          target: { type: 'domain', id: row.id, label: row.hostname },
          details: { instanceId: row.instance_id, wasPrimary: row.is_primary },
        },
        trx,
      );
    });
    if (row.is_primary || row.certificate_pem) this.deps.edge?.sync(`domain ${row.hostname} removed`);
    if (row.is_primary) await this.announce(row.instance_id);
  }

  /** Tells who follows the primary name (outgoing mail); a failure there is logged, never the caller's. */
  async announce(instanceId: string): Promise<void> {
    try {
      await this.deps.primaryChanged?.(instanceId);
    } catch (error) {
      this.deps.logger.warn({ err: error, instance: instanceId }, 'what follows the primary name could not be updated');
    }
  }

  /** The instance goes back to its platform name, and Odoo's links with it. */
  async fallBack(trx: Kysely<Database>, instanceId: string): Promise<void> {
    const instance = await trx
      .updateTable('instances')
      .set({ primary_hostname: null })
      .where('id', '=', instanceId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const url = instance.hostname ? httpsUrl(this.deps.settings, instance.hostname) : this.deps.instances.url(instance);
    if (url) await this.writeUrl(instance, url);
  }

  private async writeUrl(instance: Instance, url: string): Promise<void> {
    try {
      await writeBaseUrl(this.deps.databaseServers, instance, url);
    } catch (error) {
      if ((error as { code?: string }).code === NO_SUCH_DATABASE) return;
      this.deps.logger.error({ err: error, instance: instance.id }, "cannot write the instance's web.base.url");
      throw error;
    }
  }
}
