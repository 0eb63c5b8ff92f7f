import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../db/database.js';
import { OperationBus } from '../../platform/jobs/operations.js';
import { MetricsExporter } from './exporter.js';
import { PlatformFigureSource } from './platform-figures.js';
import { MetricsSnapshot } from './snapshot.js';

/** The Grafana dashboard in deploy/ is built on what Marina exports: a renamed series fails here. */
const dashboard = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', '..', 'deploy', 'grafana', 'marina-dashboard.json'), 'utf8'),
) as {
  templating: { list: { name: string; query: string | { query: string } }[] };
  panels: { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string }[] }[];
};

const exporter = new MetricsExporter({
  snapshot: new MetricsSnapshot(),
  // Never read here: names() lists the series without collecting them.
  figures: new PlatformFigureSource({ db: undefined as unknown as Db, dataDir: '.' }),
  bus: new OperationBus(),
  lastRoundSeconds: () => null,
});

/** Grafana's reference to the dashboard's data source variable (its own syntax, not a JS template). */
const DATASOURCE_VARIABLE = ['$', '{datasource}'].join('');

const queries = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.map((v) => (typeof v.query === 'string' ? v.query : v.query.query)),
];

describe('the Grafana dashboard', () => {
  it('uses only metric names Marina exports', () => {
    const exported = new Set(exporter.names());
    const used = new Set(queries.flatMap((q) => q.match(/\bmarina_[a-z0-9_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(15);
    for (const name of used) expect(exported, name).toContain(name);
  });

  it('reads every panel from the chosen data source and filters instances by the variables', () => {
    const variables = dashboard.templating.list.map((v) => v.name);
    expect(variables).toEqual(['datasource', 'organization', 'instance']);
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row'))
      expect(panel.datasource?.uid, panel.title).toBe(DATASOURCE_VARIABLE);
    for (const query of queries.filter((q) => /marina_instance_(?!up\b)/.test(q)))
      expect(query, query).toMatch(/organization_id=~"\$organization",instance_id=~"\$instance"/);
  });

  it('shows what the issue asks for', () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const title of [
      'Instances up',
      'CPU (cores)',
      'Memory vs limit',
      'Database size',
      'Filestore size',
      'PostgreSQL connections',
      'Container restarts (1 h)',
      'Backup age',
      'Jobs by state',
      'Job duration p95',
      'API latency p95 by route',
      'Certificate expiry (days left)',
      'Host disk free',
      'HTTP requests per second by status',
      'Response time p50 / p95',
    ])
      expect(titles).toContain(title);
  });
});
