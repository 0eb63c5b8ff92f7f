import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import {
  levelAtLeast,
  matchesQuery,
  type OdooLogEntry,
  type OdooLogLevel,
  OdooLogParser,
} from '../../odoo/log-parser.js';
import type { Actor } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import type { LogLine } from '../../runtime/port.js';
import type { HostService } from '../hosts/hosts.js';
import type { LogEntry } from './schemas.js';
import type { InstanceService } from './service.js';

/** A log entry as the API answers it (the `LogEntry` schema). */
export type LogEntryView = Static<typeof LogEntry>;

export interface LogFilter {
  level?: OdooLogLevel;
  q?: string;
}

export const logLimits = { tail: { min: 50, max: 10_000, default: 500 }, query: 200 } as const;

/** An entry as the API shows it: its id is the (normalized) runtime timestamp of its first line. */
export function entryView(entry: OdooLogEntry): LogEntryView {
  const { raw: _raw, source, pid: _pid, ...rest } = entry;
  return { id: source ?? '', ...rest };
}

export const passes = (entry: OdooLogEntry, filter: LogFilter): boolean =>
  (!filter.level || levelAtLeast(entry, filter.level)) && (!filter.q || matchesQuery(entry, filter.q));

/**
 * How long the newest entry waits for continuation lines before it is sent on its own. Docker may
 * deliver one multi-line write in pieces tens of milliseconds apart, so entries that may carry a
 * traceback (WARNING and above) wait longer; an access line or an INFO line goes almost at once.
 * The next entry's first line always releases the one before, whatever its level.
 */
const idleFlushMs = (pending: Readonly<OdooLogEntry> | null): number =>
  pending?.level === 'WARNING' || pending?.level === 'ERROR' || pending?.level === 'CRITICAL' ? 500 : 25;

/**
 * Turns log lines into entries. When following, an entry that sees no further line for a moment is
 * flushed, so the newest line does not wait for the next one (Odoo writes a traceback at once).
 */
export async function* entriesOf(lines: AsyncIterable<LogLine>, follow: boolean): AsyncGenerator<OdooLogEntry> {
  const parser = new OdooLogParser();
  const iterator = lines[Symbol.asyncIterator]();
  let next = iterator.next();
  const idle = Symbol('idle');
  while (true) {
    const result = follow
      ? await Promise.race([
          next,
          new Promise<typeof idle>((resolve) => setTimeout(() => resolve(idle), idleFlushMs(parser.pending))),
        ])
      : await next;
    if (result === idle) {
      yield* parser.flush();
      // Waiting for the same line again, without a timer, until one arrives.
      const arrived = await next;
      if (arrived.done) break;
      yield* parser.push(arrived.value.text, arrived.value.timestamp);
      next = iterator.next();
      continue;
    }
    if (result.done) break;
    yield* parser.push(result.value.text, result.value.timestamp);
    next = iterator.next();
  }
  yield* parser.flush();
}

export interface LogServiceDeps {
  db: Db;
  instances: InstanceService;
  hosts: HostService;
}

export class LogService {
  constructor(private readonly deps: LogServiceDeps) {}

  private async container(actor: Actor, id: string) {
    const instance = await this.deps.instances.get(actor, id);
    await requirePermissionOn(this.deps.db, actor, instance, 'instance.logs');
    const runtime = await this.deps.hosts.reachableRuntime(instance.host_id);
    if (!(await runtime.state(instance.container_name))) {
      throw new MarinaError('MARINA_E_NO_CONTAINER', 'The instance has no container (yet): there is no log to show.');
    }
    return { runtime, instance };
  }

  /**
   * The last `tail` entries. With a filter, more lines are read (up to 20 × tail) so that the
   * answer holds up to `tail` matching entries, like `docker logs | grep | tail` would.
   */
  async tail(
    actor: Actor,
    id: string,
    query: LogFilter & { tail: number; since?: Date; until?: Date },
  ): Promise<LogEntryView[]> {
    const { runtime, instance } = await this.container(actor, id);
    const filtered = Boolean(query.level || query.q);
    const lines = Math.min(200_000, filtered ? query.tail * 20 : query.tail * 3);
    const controller = new AbortController();
    const kept: LogEntryView[] = [];
    const source = runtime.logs(
      instance.container_name,
      { follow: false, tail: lines, since: query.since, until: query.until },
      controller.signal,
    );
    for await (const entry of entriesOf(source, false)) {
      if (!passes(entry, query)) continue;
      kept.push(entryView(entry));
      if (kept.length > query.tail) kept.shift();
    }
    return kept;
  }

  /** Follows the log: the entries of the last `tail` lines (or those after `after`), then every new one, until `signal` aborts. */
  async *follow(
    actor: Actor,
    id: string,
    query: LogFilter & { tail: number; after?: string },
    signal: AbortSignal,
  ): AsyncGenerator<LogEntryView> {
    const { runtime, instance } = await this.container(actor, id);
    const lines = runtime.logs(
      instance.container_name,
      // A resumed stream starts at the last entry the client has (Docker's since is inclusive).
      query.after ? { follow: true, since: query.after } : { follow: true, tail: query.tail },
      signal,
    );
    for await (const entry of entriesOf(lines, true)) {
      if (query.after && (entry.source ?? '') <= query.after) continue;
      if (passes(entry, query)) yield entryView(entry);
    }
  }

  /** Everything between two times, for a download: streamed, never held whole. */
  async *range(
    actor: Actor,
    id: string,
    query: { since?: Date; until?: Date },
    signal: AbortSignal,
  ): AsyncGenerator<OdooLogEntry> {
    const { runtime, instance } = await this.container(actor, id);
    yield* entriesOf(
      runtime.logs(instance.container_name, { follow: false, since: query.since, until: query.until }, signal),
      false,
    );
  }
}

export type { OdooLogLevel };
