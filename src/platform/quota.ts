import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Stage } from '../db/schema.js';

/**
 * What an operation is about to take from the organization's plan. The plans module answers;
 * the services ask inside the transaction that makes the thing, so two parallel requests cannot
 * both take the last slot.
 */
export type QuotaAsk =
  | { kind: 'instance'; stage: Stage; cpus: number; memoryMb: number }
  | { kind: 'resize'; instanceId: string; cpus: number; memoryMb: number }
  | { kind: 'domain' }
  | { kind: 'offsite'; bytes: number }
  | { kind: 'retention'; daily: number; weekly: number; monthly: number }
  /** New data (create, clone, restore as new, import): refused while storage is full. */
  | { kind: 'data' };

export interface QuotaGate {
  /**
   * Refuses with `MARINA_E_QUOTA_EXCEEDED` (naming the limit, the usage and the plan) when the ask
   * does not fit. Call it inside the creating transaction: it takes the organization's lock.
   */
  require(trx: Db, organizationId: string, ask: QuotaAsk): Promise<void>;
  /** The same answer without the lock: for refusing early (before an upload streams). */
  preview(db: Db, organizationId: string, ask: QuotaAsk): Promise<void>;
  /** Refuses with `MARINA_E_ORGANIZATION_SUSPENDED` when the organization is suspended or cancelled. */
  requireOperational(db: Db, organizationId: string, what: string): Promise<void>;
}

/**
 * The organization's lock, held until the transaction ends (re-entrant within it): the quota gate,
 * new instances and the subscription's status changes take it, so a create and a suspension happen
 * one after the other and a create never slips past a suspension.
 */
export async function lockOrganization(trx: Db, organizationId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${organizationId}, 0))`.execute(trx);
}

/** Everything a new instance asks (create, clone, restore as new, import): call it in the inserting transaction. */
export async function requireNewInstance(
  gate: QuotaGate,
  trx: Db,
  organizationId: string,
  ask: { stage: Stage; cpus: number; memoryMb: number },
): Promise<void> {
  // Locked before the status is read: a suspension committing meanwhile is seen, not missed.
  await lockOrganization(trx, organizationId);
  await gate.requireOperational(trx, organizationId, 'create instances');
  await gate.require(trx, organizationId, { kind: 'instance', ...ask });
  await gate.require(trx, organizationId, { kind: 'data' });
}

/** What modules get when no plans are wired (fast tests, tools): everything fits. */
export const unlimitedGate: QuotaGate = {
  async require() {},
  async preview() {},
  async requireOperational() {},
};
