import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import { memberRoles } from '../../db/schema.js';
import { memberOrganizations, roleAtLeast } from '../access.js';
import type { Clock } from '../clock.js';
import type { Actor } from '../context.js';
import { MarinaError } from '../errors.js';
import { minimumRole } from '../permissions.js';
import type { AuditEvent } from './schemas.js';
import type { AuditAction, AuditTarget, TargetTypeOf } from './vocabulary.js';

/**
 * One event to record: an action of the vocabulary, and a target of that action's type (a wrong
 * action, or a target of another type, does not compile).
 */
export type AuditEntry = {
  [A in AuditAction]: {
    action: A;
    organizationId?: string | null;
    target?: AuditTarget<TargetTypeOf<A>>;
    details?: Record<string, unknown>;
  };
}[AuditAction];

export interface AuditWho {
  actor: Actor | null;
  ip: string | null;
  /** For failed sign-ins there is no actor yet, only the email that was tried. */
  label?: string;
}

const actorId = (actor: Actor | null) => (actor?.kind === 'user' ? actor.userId : null);
const actorLabel = (who: AuditWho) =>
  who.actor?.kind === 'user'
    ? who.actor.email
    : who.actor?.kind === 'system'
      ? who.actor.label
      : (who.label ?? 'anonymous');

/**
 * Writes one audit event. Pass the transaction that made the change so the change and its record
 * commit together. The table is append-only (a trigger refuses UPDATE and DELETE).
 */
export async function recordAudit(db: Kysely<Database>, clock: Clock, who: AuditWho, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      at: clock.now(),
      actor_id: actorId(who.actor),
      actor_label: actorLabel(who),
      organization_id: entry.organizationId ?? null,
      action: entry.action,
      category: entry.action.split('.')[0] ?? entry.action,
      target_type: entry.target?.type ?? null,
      target_id: entry.target?.id ?? null,
      target_label: entry.target?.label ?? null,
      details: JSON.stringify(entry.details ?? {}),
      ip: who.ip,
    })
    .execute();
}

export interface AuditQuery {
  category?: string;
  action?: AuditAction;
  actor?: string;
  target?: string;
  organizationId?: string;
  from?: Date;
  to?: Date;
  limit: number;
  before?: string;
}

/** An audit event as the API answers it (the `AuditEvent` schema). */
export type AuditEventView = Static<typeof AuditEvent>;

export interface AuditServiceDeps {
  db: Db;
  clock: Clock;
}

export class AuditService {
  constructor(private readonly deps: AuditServiceDeps) {}

  record(who: AuditWho, entry: AuditEntry, trx: Kysely<Database> = this.deps.db): Promise<void> {
    return recordAudit(trx, this.deps.clock, who, entry);
  }

  /**
   * Platform admins read everything. Everyone else reads the events of organizations where they
   * are owner or admin, and their own actions.
   */
  async list(actor: Actor, query: AuditQuery): Promise<{ events: AuditEventView[]; nextCursor: string | null }> {
    if (query.from && query.to && query.from > query.to) {
      throw new MarinaError('MARINA_E_VALIDATION', '"from" must be before "to".', { field: 'from' });
    }
    let q = this.deps.db.selectFrom('audit_events').selectAll();
    if (actor.kind === 'user' && !actor.isPlatformAdmin) {
      const userId = actor.userId;
      const auditors = memberRoles.filter((role) => roleAtLeast(role, minimumRole('audit.view')));
      // Support opened as the organization reads its trail as its owner does.
      const administered = actor.impersonatedBy
        ? memberOrganizations(this.deps.db, actor)
        : memberOrganizations(this.deps.db, actor).where('memberships.role', 'in', auditors);
      q = q.where((eb) => eb.or([eb('actor_id', '=', userId), eb('organization_id', 'in', administered)]));
      // An organization token sees that organization's events only, its user's own included.
      if (actor.organizationId) q = q.where('organization_id', '=', actor.organizationId);
    }
    if (query.category) q = q.where('category', '=', query.category);
    if (query.action) q = q.where('action', '=', query.action);
    if (query.actor) {
      const who = query.actor;
      q = q.where((eb) =>
        /^[0-9a-f-]{36}$/.test(who) ? eb('actor_id', '=', who) : eb('actor_label', '=', who.toLowerCase()),
      );
    }
    if (query.target) {
      const target = query.target;
      q = q.where((eb) => eb.or([eb('target_id', '=', target), eb('target_label', '=', target)]));
    }
    if (query.organizationId) q = q.where('organization_id', '=', query.organizationId);
    if (query.from) q = q.where('at', '>=', query.from);
    if (query.to) q = q.where('at', '<=', query.to);
    if (query.before) q = q.where('id', '<', query.before);
    const rows = await q
      .orderBy(sql`id`, 'desc')
      .limit(query.limit + 1)
      .execute();
    const page = rows.slice(0, query.limit);
    return {
      events: page.map((row) => ({
        id: row.id,
        at: row.at.toISOString(),
        actor: { id: row.actor_id, label: row.actor_label },
        organizationId: row.organization_id,
        action: row.action,
        category: row.category,
        target:
          row.target_type && row.target_id
            ? { type: row.target_type, id: row.target_id, label: row.target_label }
            : null,
        details: row.details,
        ip: row.ip,
      })),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async categories(): Promise<string[]> {
    const rows = await this.deps.db
      .selectFrom('audit_events')
      .select('category')
      .distinct()
      .orderBy('category')
      .execute();
    return rows.map((r) => r.category);
  }
}
