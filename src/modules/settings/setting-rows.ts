import type { Db } from '../../db/database.js';
import type { AuditEntry, AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';

/** Who changed something, as the `updated_by`/`created_by` columns keep it. */
export const actorName = (ctx: RequestContext): string =>
  ctx.actor.kind === 'user' ? ctx.actor.email : ctx.actor.label;

/**
 * Stores one platform setting (a JSON row of `settings`) and its audit event in one transaction,
 * so a change is never kept without its record.
 */
export async function saveSetting(
  deps: { db: Db; audit: AuditService; clock: Clock },
  ctx: RequestContext,
  key: string,
  stored: unknown,
  event: AuditEntry,
): Promise<void> {
  const by = actorName(ctx);
  const now = deps.clock.now();
  const value = JSON.stringify(stored);
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('settings')
      .values({ key, value, updated_by: by, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_by: by, updated_at: now }))
      .execute();
    await deps.audit.record(ctx, event, trx);
  });
}
