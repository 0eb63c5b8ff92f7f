import { statfs } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { LOCAL_HOST_ID } from '../hosts/hosts.js';

/** What the platform series show, read from Marina's database and its own host at scrape time. */
export interface PlatformFigures {
  jobs: { kind: string; state: string; count: number }[];
  queueDepth: number;
  offsiteFailures: { destinationId: string; count: number }[];
  certificates: { kind: 'domain' | 'wildcard'; id: string; notAfter: number }[];
  hosts: {
    hostId: string;
    diskFree: number | null;
    diskTotal: number | null;
    memoryTotal: number;
    memoryFree: number;
  }[];
}

/**
 * Reads the figures, at most once per `maxAgeMs` however many scrapers ask (two Prometheus servers
 * scraping every second must not turn into a query load on Marina's database).
 */
export class PlatformFigureSource {
  private cached: { at: number; figures: Promise<PlatformFigures> } | undefined;

  constructor(private readonly deps: { db: Db; dataDir: string; maxAgeMs?: number }) {}

  read(): Promise<PlatformFigures> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.deps.maxAgeMs ?? 5000)) return this.cached.figures;
    const figures = this.load();
    this.cached = { at: now, figures };
    // A failed read is not kept: the next scrape tries again.
    figures.catch(() => {
      if (this.cached?.figures === figures) this.cached = undefined;
    });
    return figures;
  }

  private async load(): Promise<PlatformFigures> {
    const { db } = this.deps;
    const [jobs, copies, domains, wildcards, disk] = await Promise.all([
      db
        .selectFrom('operations')
        .select(['kind', 'status', (eb) => eb.fn.countAll<string>().as('n')])
        .groupBy(['kind', 'status'])
        .execute(),
      db
        .selectFrom('backup_copies')
        .select(['destination_id', (eb) => eb.fn.countAll<string>().as('n')])
        .where('status', '=', 'failed')
        .groupBy('destination_id')
        .execute(),
      db
        .selectFrom('domains')
        .select(['id', sql<string | null>`certificate_state->>'notAfter'`.as('not_after')])
        .where(sql<boolean>`certificate_state->>'notAfter' is not null`)
        .execute(),
      db
        .selectFrom('edge_wildcard_certificates')
        .select(['id', 'not_after'])
        .where('not_after', 'is not', null)
        .execute(),
      statfs(this.deps.dataDir).catch(() => undefined),
    ]);
    const certificates: PlatformFigures['certificates'] = [
      ...domains.map((d) => ({ kind: 'domain' as const, id: d.id, notAfter: Date.parse(d.not_after ?? '') / 1000 })),
      ...wildcards.map((w) => ({
        kind: 'wildcard' as const,
        id: w.id,
        notAfter: (w.not_after?.getTime() ?? 0) / 1000,
      })),
    ].filter((c) => Number.isFinite(c.notAfter) && c.notAfter > 0);
    return {
      jobs: jobs.map((j) => ({ kind: j.kind, state: j.status, count: Number(j.n) })),
      queueDepth: jobs.filter((j) => j.status === 'queued').reduce((sum, j) => sum + Number(j.n), 0),
      offsiteFailures: copies.map((c) => ({ destinationId: c.destination_id, count: Number(c.n) })),
      certificates,
      // Marina's own host only: remote engines' disks are not visible through the Docker API.
      hosts: [
        {
          hostId: LOCAL_HOST_ID,
          diskFree: disk ? disk.bavail * disk.bsize : null,
          diskTotal: disk ? disk.blocks * disk.bsize : null,
          memoryTotal: totalmem(),
          memoryFree: freemem(),
        },
      ],
    };
  }
}
