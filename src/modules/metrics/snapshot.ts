import { STATUS_CLASSES } from './http-traffic.js';
import type { InstanceSample, SampleSink } from './sample.js';

/** One line of a family with more than one per instance: a name suffix and labels of its own (fixed words). */
interface Point {
  suffix?: string;
  label?: [name: string, value: string];
  value: number;
}

interface InstanceFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter' | 'summary';
  /** Its value moves with the clock: written at each scrape, not once per round. */
  live?: boolean;
  value(sample: InstanceSample, nowSeconds: number): number | null | undefined;
  /** Instead of value: several lines per instance (status classes, a summary's quantiles, sum and count). */
  points?(sample: InstanceSample): Point[];
}

/** The edge's request figures: counts by status class, latency as a summary (quantiles of the last round). */
const httpFamilies: InstanceFamily[] = [
  {
    name: 'marina_instance_http_requests_total',
    help: "HTTP requests the edge proxy answered for the instance since Marina started, by status class (Marina's own UI and API are not counted).",
    type: 'counter',
    value: () => null,
    points: (s) =>
      s.http ? STATUS_CLASSES.map((c) => ({ label: ['status_class', c], value: s.http?.byClass[c] ?? 0 })) : [],
  },
  {
    name: 'marina_instance_http_request_duration_seconds',
    help: 'Latency of requests through the edge proxy, in seconds: quantiles of the last sampling interval, sum and count since Marina started (websockets and long polls left out).',
    type: 'summary',
    value: () => null,
    points: (s) => {
      if (!s.http) return [];
      const quantiles: Point[] = [];
      if (s.responseP50Ms !== null) quantiles.push({ label: ['quantile', '0.5'], value: s.responseP50Ms / 1000 });
      if (s.responseP95Ms !== null) quantiles.push({ label: ['quantile', '0.95'], value: s.responseP95Ms / 1000 });
      return [
        ...quantiles,
        { suffix: '_sum', value: s.http.durationSecondsSum },
        { suffix: '_count', value: s.http.durationCount },
      ];
    },
  },
];

const seconds = (at: Date | null | undefined): number | null => (at ? at.getTime() / 1000 : null);

/** Every per-instance series, in the order they are written. Unknown figures are left out, never 0. */
export const instanceFamilies: readonly InstanceFamily[] = [
  {
    name: 'marina_instance_up',
    help: "1 when the instance's container runs and Marina reached it in the last sample, else 0.",
    type: 'gauge',
    value: (s) => (s.up ? 1 : 0),
  },
  {
    name: 'marina_instance_cpu_seconds_total',
    help: 'CPU time the container used since it started, in seconds (resets when it restarts).',
    type: 'counter',
    value: (s) => s.cpuSecondsTotal,
  },
  {
    name: 'marina_instance_memory_bytes',
    help: 'Memory the container uses without the page cache, in bytes.',
    type: 'gauge',
    value: (s) => s.memoryBytes,
  },
  {
    name: 'marina_instance_memory_limit_bytes',
    help: "The container's memory limit, in bytes.",
    type: 'gauge',
    value: (s) => s.memoryLimitBytes,
  },
  {
    name: 'marina_instance_database_bytes',
    help: "Size of the instance's PostgreSQL database (pg_database_size), in bytes.",
    type: 'gauge',
    value: (s) => s.databaseBytes,
  },
  {
    name: 'marina_instance_filestore_bytes',
    help: "Size of the instance's filestore at its last storage measurement, in bytes.",
    type: 'gauge',
    value: (s) => s.filestoreBytes,
  },
  {
    name: 'marina_instance_odoo_sessions',
    help: 'Odoo sessions used within the last hour (session files touched), at the last storage measurement.',
    type: 'gauge',
    value: (s) => s.odooSessions ?? null,
  },
  {
    name: 'marina_instance_postgres_connections',
    help: "PostgreSQL backends connected to the instance's database.",
    type: 'gauge',
    value: (s) => s.connections,
  },
  {
    name: 'marina_instance_restarts_total',
    help: 'Times the container was restarted by its restart policy (Odoo crashed or was killed).',
    type: 'counter',
    value: (s) => s.restarts,
  },
  {
    name: 'marina_instance_last_backup_timestamp_seconds',
    help: "When the instance's last backup completed, in Unix seconds (absent: never).",
    type: 'gauge',
    value: (s) => seconds(s.lastBackupAt),
  },
  {
    name: 'marina_instance_backup_age_seconds',
    help: "Seconds since the instance's last backup completed (absent: never).",
    type: 'gauge',
    live: true,
    value: (s, now) => {
      const last = seconds(s.lastBackupAt);
      return last === null ? null : Math.max(0, Math.round(now - last));
    },
  },
  {
    name: 'marina_instance_sample_timestamp_seconds',
    help: "When the instance's figures were sampled, in Unix seconds.",
    type: 'gauge',
    value: (s) => seconds(s.at),
  },
  ...httpFamilies,
];

/** Label values are ids and fixed words; escaped anyway, as the text format requires. */
const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

const labelsOf = (s: InstanceSample): string =>
  `{instance_id="${escapeLabel(s.instanceId)}",organization_id="${escapeLabel(s.organizationId)}",project_id="${escapeLabel(
    s.projectId,
  )}",stage="${escapeLabel(s.stage)}",host_id="${escapeLabel(s.hostId)}"}`;

type Entry = { sample: InstanceSample; labels: string };

/** A family's sample lines of some entries, or '' when none is known. */
function lines(family: InstanceFamily, entries: readonly Entry[], nowSeconds: number): string {
  const out: string[] = [];
  for (const { sample, labels } of entries) {
    if (family.points) {
      for (const point of family.points(sample)) {
        if (!Number.isFinite(point.value)) continue;
        const own = point.label ? `${labels.slice(0, -1)},${point.label[0]}="${point.label[1]}"}` : labels;
        out.push(`${family.name}${point.suffix ?? ''}${own} ${point.value}`);
      }
      continue;
    }
    const value = family.value(sample, nowSeconds);
    if (value !== null && value !== undefined && Number.isFinite(value)) out.push(`${family.name}${labels} ${value}`);
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

/**
 * The latest round of samples, kept for /metrics: a scrape renders from memory, never samples. The
 * text of the families that only change with a round is encoded once per round and organization (or
 * all) at its first scrape, so a scrape copies bytes; the backup age alone moves with the clock and
 * is written at each scrape, after the others (a family's lines only need to stay together).
 */
export class MetricsSnapshot implements SampleSink {
  private all: Entry[] = [];
  private byOrganization = new Map<string, Entry[]>();
  /** Organization id (or '' for all) → the round's fixed families, encoded. */
  private encoded = new Map<string, Buffer>();

  async record(samples: readonly InstanceSample[]): Promise<void> {
    const all = samples.map((sample) => ({ sample, labels: labelsOf(sample) }));
    const byOrganization = new Map<string, Entry[]>();
    for (const entry of all) {
      const list = byOrganization.get(entry.sample.organizationId);
      if (list) list.push(entry);
      else byOrganization.set(entry.sample.organizationId, [entry]);
    }
    this.all = all;
    this.byOrganization = byOrganization;
    this.encoded = new Map();
  }

  /** How many instances the last round had. */
  get size(): number {
    return this.all.length;
  }

  /** The per-instance series in the Prometheus text format, of one organization or of all. */
  render(organizationId: string | undefined, now: Date): Buffer {
    const key = organizationId ?? '';
    const entries = organizationId === undefined ? this.all : (this.byOrganization.get(organizationId) ?? []);
    const text = (live: boolean, nowSeconds: number) =>
      instanceFamilies
        .filter((family) => Boolean(family.live) === live)
        .map(
          (family) =>
            `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n${lines(family, entries, nowSeconds)}`,
        )
        .join('');
    let fixed = this.encoded.get(key);
    if (!fixed) {
      fixed = Buffer.from(text(false, now.getTime() / 1000));
      this.encoded.set(key, fixed);
    }
    return Buffer.concat([fixed, Buffer.from(text(true, now.getTime() / 1000))]);
  }
}
