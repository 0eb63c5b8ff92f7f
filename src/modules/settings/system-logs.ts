import { join } from 'node:path';
import { type FileLine, followLines, readLines, tailOffset } from '../../adapters/logfile.js';
import type { OdooLogLevel } from '../../odoo/log-parser.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { Actor } from '../../platform/context.js';
import type { LogEntryView, LogFilter } from '../instances/logs.js';

export const systemLogFile = (dataDir: string): string => join(dataDir, 'logs', 'marina.log');

/** pino's numeric levels in Odoo's names, so both logs read alike. */
function levelName(level: unknown): OdooLogLevel {
  const n = typeof level === 'number' ? level : 30;
  if (n >= 60) return 'CRITICAL';
  if (n >= 50) return 'ERROR';
  if (n >= 40) return 'WARNING';
  if (n >= 30) return 'INFO';
  return 'DEBUG';
}

const rank: Record<OdooLogLevel, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 };

/** An id that sorts as text: the byte offset, zero-padded. */
export const offsetId = (offset: number): string => String(offset).padStart(16, '0');

/** One of Marina's JSON log lines as a log entry; lines that are not JSON are kept as plain text. */
export function systemEntry(line: FileLine): LogEntryView {
  const base = { id: offsetId(line.offset), database: null, truncated: 0, http: null };
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line.text) as Record<string, unknown>;
  } catch {
    return { ...base, time: null, level: null, logger: null, message: line.text, continuation: [], plain: true };
  }
  const err = record.err as { message?: string; stack?: string } | undefined;
  const req = record.req as { method?: string; url?: string } | undefined;
  const res = record.res as { statusCode?: number } | undefined;
  const parts = [String(record.msg ?? '')];
  if (req?.method && req.url) parts.push(`${req.method} ${req.url}`);
  if (res?.statusCode)
    parts.push(
      `→ ${res.statusCode}${typeof record.responseTime === 'number' ? ` in ${record.responseTime.toFixed(1)} ms` : ''}`,
    );
  if (err?.message) parts.push(`— ${err.message}`);
  const context = Object.entries(record)
    .filter(
      ([key]) =>
        !['level', 'time', 'pid', 'hostname', 'service', 'msg', 'err', 'req', 'res', 'responseTime', 'reqId'].includes(
          key,
        ),
    )
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return {
    ...base,
    time: typeof record.time === 'number' ? new Date(record.time).toISOString() : null,
    level: levelName(record.level),
    logger: req || res ? 'http' : 'marina',
    message: parts.filter(Boolean).join(' '),
    continuation: [...(context.length > 0 ? [context.join(' ')] : []), ...(err?.stack?.split('\n').slice(1) ?? [])],
    plain: false,
  };
}

const passes = (entry: LogEntryView, filter: LogFilter): boolean =>
  (!filter.level || (entry.level ? rank[entry.level] : rank.INFO) >= rank[filter.level]) &&
  (!filter.q ||
    `${entry.message}\n${entry.continuation.join('\n')}\n${entry.logger ?? ''}`
      .toLowerCase()
      .includes(filter.q.toLowerCase()));

const inRange = (entry: LogEntryView, since?: Date, until?: Date): boolean =>
  !entry.time || ((!since || new Date(entry.time) >= since) && (!until || new Date(entry.time) <= until));

/** Marina's own log, for platform admins: the JSON lines it writes to data/logs/marina.log. */
export class SystemLogService {
  constructor(private readonly file: string) {}

  async tail(actor: Actor, query: LogFilter & { tail: number; since?: Date; until?: Date }): Promise<LogEntryView[]> {
    requirePlatformAdmin(actor);
    const filtered = Boolean(query.level || query.q || query.since || query.until);
    const from = await tailOffset(this.file, Math.min(200_000, filtered ? query.tail * 20 : query.tail));
    const kept: LogEntryView[] = [];
    for await (const line of readLines(this.file, from)) {
      const entry = systemEntry(line);
      if (!passes(entry, query) || !inRange(entry, query.since, query.until)) continue;
      kept.push(entry);
      if (kept.length > query.tail) kept.shift();
    }
    return kept;
  }

  async *follow(
    actor: Actor,
    query: LogFilter & { tail: number; after?: string },
    signal: AbortSignal,
  ): AsyncGenerator<LogEntryView> {
    requirePlatformAdmin(actor);
    // Resuming: start at the last line the client has, and skip it.
    const from = query.after ? Number(query.after) : await tailOffset(this.file, query.tail);
    for await (const line of followLines(this.file, from, signal)) {
      if (query.after && line.offset <= Number(query.after)) continue;
      const entry = systemEntry(line);
      if (passes(entry, query)) yield entry;
    }
  }

  async *range(
    actor: Actor,
    query: { since?: Date; until?: Date },
  ): AsyncGenerator<{ line: FileLine; entry: LogEntryView }> {
    requirePlatformAdmin(actor);
    for await (const line of readLines(this.file)) {
      const entry = systemEntry(line);
      if (inRange(entry, query.since, query.until)) yield { line, entry };
    }
  }
}
