/**
 * The rows behind API tokens and sessions, kept for two seconds so that a client sending many
 * requests does not make every one of them wait for the same lookup. Only what the database
 * answered is kept, never a refusal (an unknown secret is asked again), and the caller checks the
 * row on every use (revoked, ended, disabled, expired against its own clock), so a cached row is
 * no more permissive than the lookup.
 *
 * Any write that could change such a row empties the cache and keeps it from storing anything for
 * two more seconds: an UPDATE of users, api_tokens or sessions (not the once-a-minute "last used"
 * stamps), any DELETE (cascades), any raw write (write-signal.ts). The pause covers the write's
 * transaction until it commits: a row read meanwhile is the old one. So a token revoked or a session
 * ended through Marina stops working at once; a write from outside Marina (SQL by hand) within two
 * seconds.
 */
import { performance } from 'node:perf_hooks';
import { onTableWrite, type TableWrite } from '../../db/write-signal.js';

const KEEP_MS = 2000;
const MAX_ENTRIES = 10_000;
const TABLES = new Set(['users', 'api_tokens', 'sessions']);
const STAMPS = new Set(['last_used_at', 'last_seen_at']);

/** Whether a write may change who a secret authenticates as. */
export const touchesCredentials = (write: TableWrite): boolean =>
  write.table === null ||
  (TABLES.has(write.table) && (write.columns === null || write.columns.some((column) => !STAMPS.has(column))));

// One listener for every cache, holding them weakly: a cache goes with the services that made it.
const caches = new Set<WeakRef<{ invalidate(): void }>>();
onTableWrite((write) => {
  if (!touchesCredentials(write)) return;
  for (const ref of caches) {
    const cache = ref.deref();
    if (cache) cache.invalidate();
    else caches.delete(ref);
  }
});

interface Entry<Row> {
  row: Row;
  storedAt: number;
}

export class CredentialCache<Row> {
  private readonly entries = new Map<string, Entry<Row>>();
  private generation = 0;
  private quietUntil = 0;
  constructor(private readonly now: () => number = () => performance.now()) {
    caches.add(new WeakRef(this));
  }

  /** The row for a key (a secret's hash): from the cache, or looked up (and kept when nothing wrote meanwhile). */
  async get(key: string, lookUp: () => Promise<Row | undefined>): Promise<Row | undefined> {
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.storedAt < KEEP_MS) return hit.row;
    if (hit) this.entries.delete(key);
    const generation = this.generation;
    const row = await lookUp();
    const now = this.now();
    if (row !== undefined && generation === this.generation && now >= this.quietUntil) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(key, { row, storedAt: now });
    }
    return row;
  }

  /** A stamp this process wrote itself (last used, last seen): the kept row follows it. */
  update(key: string, change: (row: Row) => Row): void {
    const hit = this.entries.get(key);
    if (hit) hit.row = change(hit.row);
  }

  invalidate(): void {
    this.generation++;
    this.quietUntil = this.now() + KEEP_MS;
    this.entries.clear();
  }
}
