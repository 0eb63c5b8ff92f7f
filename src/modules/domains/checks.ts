import type { Kysely } from 'kysely';
import type { Database, Domain as DomainRow } from '../../db/schema.js';
import { type RequestContext, systemContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import type { PrimaryNames } from './primary.js';
import type { DomainServiceDeps } from './service.js';
import { normalizeDomain } from './validation.js';
import type { CheckOutcome, DnsRecord } from './verification.js';
import { recordsFor } from './views.js';

/** A pending name is re-checked after 1, 2, 4 … minutes, at most an hour apart… */
export const MAX_RECHECK_MINUTES = 60;
/** …and given up on (failed, still re-checkable by hand) a week after it was added. */
export const GIVE_UP_AFTER_MS = 7 * 24 * 60 * 60_000;
const UNIQUE_VIOLATION = '23505';
export const TAKEN_OVER = 'Verified by another organization: its DNS records now prove that one, not this.';

/** Minutes until the next background check, after `checks` checks (1 → 1 min, 2 → 2, 3 → 4 …). */
export const recheckDelayMinutes = (checks: number): number =>
  Math.min(MAX_RECHECK_MINUTES, 2 ** Math.max(0, Math.min(checks - 1, 10)));

/** DNS checks of domains: the first one when added, by hand, and the background re-checks. */
export class DomainChecks {
  /** Certificate probes started after a verification: waited for when Marina stops. */
  private readonly probes = new Set<Promise<void>>();

  constructor(
    private readonly deps: DomainServiceDeps,
    private readonly primary: PrimaryNames,
    private readonly afterVerified: (row: DomainRow) => Promise<void>,
  ) {}

  /** Checks one domain now and records what DNS answered; answers the row as it is afterwards. */
  async run(ctx: RequestContext, row: DomainRow): Promise<DomainRow> {
    const { clock, settings } = this.deps;
    const now = clock.now();
    try {
      // Checked again before use: a name stored before a rule (or a base domain) changed.
      normalizeDomain(row.hostname, settings.baseDomain);
    } catch (error) {
      return this.record(row, { status: 'failed', last_error: (error as Error).message, next_check_at: null }, now);
    }
    const instance = await this.deps.instances.row(row.instance_id);
    const expected = recordsFor(row, instance, settings);
    const outcome = await this.deps.dns.check(row.hostname, row.method, expected, now);
    if (outcome.verified) return this.markVerified(ctx, row, outcome, expected, now);
    const common = { found: JSON.stringify(outcome.found), expected: JSON.stringify(expected) };
    // A verified name whose records went away keeps routing: only a check that proves it moves it.
    if (row.status === 'verified') return this.record(row, { ...common, last_error: outcome.problem }, now);
    const checks = row.check_count + 1;
    const givingUp = row.status === 'pending' && now.getTime() - row.created_at.getTime() >= GIVE_UP_AFTER_MS;
    if (givingUp || row.status === 'failed')
      return this.record(
        row,
        {
          ...common,
          status: 'failed',
          next_check_at: null,
          last_error: givingUp ? `Not verified within 7 days: ${outcome.problem}` : outcome.problem,
        },
        now,
      );
    return this.record(
      row,
      {
        ...common,
        last_error: outcome.problem,
        next_check_at: new Date(now.getTime() + recheckDelayMinutes(checks) * 60_000),
      },
      now,
    );
  }

  private record(
    row: DomainRow,
    changes: {
      status?: 'failed';
      found?: string;
      expected?: string;
      last_error: string | null;
      next_check_at?: Date | null;
    },
    now: Date,
  ): Promise<DomainRow> {
    return this.deps.db
      .updateTable('domains')
      .set({ ...changes, last_check_at: now, check_count: row.check_count + 1 })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * This organization proved the name now: any other organization's verified row for it stops
   * routing (failed, no longer primary) — DNS points here, so the other claim is stale. Both in one
   * transaction, the other row first: only one verified row per name may exist.
   */
  private async markVerified(
    ctx: RequestContext,
    row: DomainRow,
    outcome: CheckOutcome,
    expected: DnsRecord[],
    now: Date,
  ): Promise<DomainRow> {
    const { db, audit } = this.deps;
    const lostPrimary: string[] = [];
    const updated = await this.verifiedOnce(db, async (trx) => {
      const others = await trx
        .selectFrom('domains')
        .selectAll()
        .where('hostname', '=', row.hostname)
        .where('id', '!=', row.id)
        .where('status', '=', 'verified')
        .forUpdate()
        .execute();
      for (const other of others) {
        await trx
          .updateTable('domains')
          .set({ status: 'failed', is_primary: false, last_error: TAKEN_OVER, next_check_at: null })
          .where('id', '=', other.id)
          .execute();
        if (other.is_primary) {
          lostPrimary.push(other.instance_id);
          await this.primary.fallBack(trx, other.instance_id);
        }
      }
      const saved = await trx
        .updateTable('domains')
        .set({
          status: 'verified',
          verified_at: row.verified_at ?? now,
          found: JSON.stringify(outcome.found),
          expected: JSON.stringify(expected),
          last_error: null,
          last_check_at: now,
          next_check_at: null,
          check_count: row.check_count + 1,
        })
        .where('id', '=', row.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      if (row.status !== 'verified')
        await audit.record(
          ctx,
          {
            action: 'domain.verify',
            organizationId: row.organization_id,
            target: { type: 'domain', id: row.id, label: row.hostname },
            details: { method: row.method, ...(others.length > 0 ? { replacedOtherOrganization: true } : {}) },
          },
          trx,
        );
      return saved;
    });
    if (lostPrimary.length > 0) this.deps.edge?.sync(`${row.hostname} verified by another organization`);
    for (const instanceId of lostPrimary) await this.primary.announce(instanceId);
    if (row.status !== 'verified') {
      const probe = this.afterVerified(updated).finally(() => this.probes.delete(probe));
      this.probes.add(probe);
    }
    return updated;
  }

  /** Waits for the probes still under way (they write to Marina's database). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.probes]);
  }

  /** Two organizations proving the same name at the same moment: one wins, the other is told to try again. */
  private async verifiedOnce<T>(db: DomainServiceDeps['db'], work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION)
        throw new MarinaError(
          'MARINA_E_CONFLICT',
          'This name was verified elsewhere at the same moment; verify it again.',
        );
      throw error;
    }
  }

  /** The background step: every pending name whose time has come, a few at a time. */
  async runDue(limit = 25): Promise<number> {
    const due = await this.deps.db
      .selectFrom('domains')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_check_at', '<=', this.deps.clock.now())
      .orderBy('next_check_at')
      .limit(limit)
      .execute();
    const ctx = systemContext('domain re-check');
    for (const row of due) {
      try {
        await this.run(ctx, row);
      } catch (error) {
        this.deps.logger.warn({ err: error, hostname: row.hostname }, 'the re-check of a domain failed');
      }
    }
    return due.length;
  }
}

/** Runs the background re-checks on a timer; the clock decides what is due, so tests drive time. */
export class DomainRechecks {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly checks: DomainChecks,
    private readonly intervalMs = 30_000,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.checks
        .runDue()
        .catch(() => 0)
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    await this.checks.settle();
  }
}
