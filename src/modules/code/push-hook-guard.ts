import { createHash } from 'node:crypto';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import { MarinaError } from '../../platform/errors.js';
import type { HookHeaders, HookProvider } from './webhooks.js';

/** Deliveries are remembered this long; an older replay finds nothing and is rate-limited like any push. */
const REMEMBER_DAYS = 30;
/** Pruning runs at most this often, not on every delivery. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** Buckets of hooks idle long enough to be full again carry no information: dropped past this many. */
const MAX_BUCKETS = 10_000;
const MAX_DELIVERY_ID = 200;

interface Bucket {
  tokens: number;
  at: number;
}

/** The provider's id for a delivery; the same across its retries and redeliveries. */
export function deliveryIdOf(provider: HookProvider, headers: HookHeaders): string | null {
  const names: Record<HookProvider, string[]> = {
    github: ['x-github-delivery'],
    gitea: ['x-gitea-delivery', 'x-forgejo-delivery'],
    // GitLab's Idempotency-Key stays the same on retries; older GitLab only sends the event UUID.
    gitlab: ['idempotency-key', 'x-gitlab-event-uuid'],
  };
  for (const name of names[provider]) {
    const raw = headers[name];
    const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    if (value) return value.slice(0, MAX_DELIVERY_ID);
  }
  return null;
}

export interface PushHookGuardDeps {
  db: Db;
  clock: Clock;
  limits: { perMinute: number };
}

/**
 * What a push hook must pass before it acts: a per-hook rate limit (a token bucket refilled at
 * `perMinute` a minute, holding at most that many) and replay detection. A delivery is a replay
 * when its provider id or its signed body was seen before for the same repository: the id alone
 * is not signed, so a captured body resent under a fresh id is still recognised.
 */
export class PushHookGuard {
  private readonly buckets = new Map<string, Bucket>();
  private lastPrune = 0;

  constructor(private readonly deps: PushHookGuardDeps) {}

  /** Takes one token from the hook's bucket, or refuses with 429 and when to try again. */
  admit(repositoryId: string): void {
    const now = this.deps.clock.now().getTime();
    const capacity = this.deps.limits.perMinute;
    const perMs = capacity / 60_000;
    const bucket = this.buckets.get(repositoryId) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + Math.max(0, now - bucket.at) * perMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(repositoryId, bucket);
      const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      throw new MarinaError(
        'MARINA_E_RATE_LIMITED',
        `This hook received more than ${capacity} deliveries in a minute; try again in ${retryAfterSeconds} s.`,
        { retryAfterSeconds },
      );
    }
    bucket.tokens -= 1;
    // Re-inserted so the map's order is least recently used first.
    this.buckets.delete(repositoryId);
    this.buckets.set(repositoryId, bucket);
    if (this.buckets.size > MAX_BUCKETS) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }

  /**
   * Records a verified delivery; false when it is a replay (nothing recorded then). Called after
   * the signature checked out, so only the hook's owner can add rows.
   */
  async remember(repositoryId: string, provider: HookProvider, headers: HookHeaders, body: Buffer): Promise<boolean> {
    await this.prune();
    const deliveryId = deliveryIdOf(provider, headers);
    const bodySha256 = createHash('sha256').update(body).digest('hex');
    // Both unique indexes guard the insert: a clash on either is a replay, decided by PostgreSQL
    // so two copies arriving together cannot both pass.
    const inserted = await this.deps.db
      .insertInto('push_hook_deliveries')
      .values({
        repository_id: repositoryId,
        provider,
        delivery_id: deliveryId,
        body_sha256: bodySha256,
        received_at: this.deps.clock.now(),
      })
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  private async prune(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.deps.db
      .deleteFrom('push_hook_deliveries')
      .where('received_at', '<', new Date(now - REMEMBER_DAYS * 24 * 60 * 60 * 1000))
      .execute();
  }
}
