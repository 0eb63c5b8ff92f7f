import { Link } from 'react-router-dom';
import { Badge } from '../../components/Badge';
import { DataTable } from '../../components/DataTable';
import { formatDateTime, formatRelative } from '../../format';
import { formatDuration } from '../../operate';
import type { Incident } from './api';

/** What each kind of incident is called (the rules' titles: the list is shown to members who cannot read the rules). */
const kindTitles: Record<string, string> = {
  instance_down: 'Instance down',
  memory_high: 'Memory near its limit',
  host_disk: 'Host disk almost full',
  storage_quota: 'Storage near the quota',
  backup_stale: 'No recent backup',
  offsite_failed: 'Offsite copy failed',
  certificate: 'Certificate expiring',
  job_failing: 'Job failing repeatedly',
};

export function incidentTitle(incident: Incident): string {
  if (incident.title) return incident.title;
  return kindTitles[incident.kind] ?? incident.kind.replaceAll('_', ' ');
}

interface PathAnswer {
  status?: unknown;
  error?: unknown;
}

const asPath = (value: unknown): PathAnswer | null =>
  typeof value === 'object' && value !== null ? (value as PathAnswer) : null;

/** One check path's answer in words: "HTTP 502 (Bad gateway)", "no answer (connection refused)". */
function answerOf(path: PathAnswer | null): string | null {
  if (!path) return null;
  const status = typeof path.status === 'number' ? path.status : null;
  const error = typeof path.error === 'string' && path.error ? path.error.slice(0, 160) : null;
  const head = status ? `HTTP ${status}` : 'no answer';
  return error ? `${head}: ${error}` : head;
}

const failedPaths: Record<string, string> = {
  both: 'Failed through the proxy and directly',
  proxy: 'Failed through the proxy (Odoo itself answered)',
  direct: 'Odoo did not answer directly',
};

/** What failed, as the incident's details tell it: the summary sentence, or the check's paths. */
export function incidentCause(incident: Incident): string[] {
  const d = incident.details;
  const lines: string[] = [];
  if (typeof d.summary === 'string' && d.summary) lines.push(d.summary);
  const failed = typeof d.failed === 'string' ? failedPaths[d.failed] : undefined;
  if (failed && lines.length === 0) lines.push(failed);
  if (typeof d.failed === 'string' && d.failed !== 'none') {
    const proxy = answerOf(asPath(d.proxy));
    const direct = answerOf(asPath(d.direct));
    if (proxy && (d.failed === 'proxy' || d.failed === 'both')) lines.push(`Proxy: ${proxy}`);
    if (direct && (d.failed === 'direct' || d.failed === 'both')) lines.push(`Direct: ${direct}`);
  }
  if (typeof d.closed === 'string' && d.closed) lines.push(`Closed: ${d.closed}`);
  return lines;
}

/** How long the incident lasted, or has lasted so far. */
export function incidentDuration(incident: Incident, now: number): string {
  const end = incident.resolvedAt ? new Date(incident.resolvedAt).getTime() : now;
  return formatDuration((end - new Date(incident.openedAt).getTime()) / 1000);
}

/** Open ones first, then the newest. */
export function openFirst(incidents: readonly Incident[]): Incident[] {
  return [...incidents].sort((a, b) => {
    if ((a.resolvedAt === null) !== (b.resolvedAt === null)) return a.resolvedAt === null ? -1 : 1;
    return b.openedAt.localeCompare(a.openedAt);
  });
}

interface IncidentsTableProps {
  incidents: readonly Incident[];
  now: number;
  /** Instance names by id; without it (an instance's own list) there is no instance column. */
  instanceNames?: ReadonlyMap<string, string>;
}

/** Incidents with what failed, when, and for how long; open ones first. */
export function IncidentsTable({ incidents, now, instanceNames }: IncidentsTableProps) {
  return (
    <DataTable
      label="Incidents"
      className="incidents-table"
      rows={openFirst(incidents)}
      rowKey={(i) => i.id}
      rowProps={(i) => ({ 'data-incident-id': i.id, 'data-open': i.resolvedAt === null })}
      columns={[
        {
          header: 'Incident',
          cell: (i) => (
            <span className="stacked-time">
              <span className="row-title">{incidentTitle(i)}</span>
              {incidentCause(i).map((line) => (
                <span key={line} className="muted incident-cause">
                  {line}
                </span>
              ))}
            </span>
          ),
        },
        instanceNames && {
          header: 'Instance',
          cell: (i) =>
            i.instanceId ? (
              <Link to={`/instances/${i.instanceId}?tab=uptime`}>{instanceNames.get(i.instanceId) ?? 'Instance'}</Link>
            ) : (
              <span className="muted">—</span>
            ),
        },
        {
          header: 'Opened',
          cellProps: (i) => ({ title: formatDateTime(i.openedAt) }),
          cell: (i) => (
            <span className="stacked-time">
              <span>{formatDateTime(i.openedAt)}</span>
              <span className="muted">{formatRelative(i.openedAt, new Date(now))}</span>
            </span>
          ),
        },
        {
          header: 'Duration',
          className: 'tabular',
          cell: (i) => (i.resolvedAt ? incidentDuration(i, now) : `${incidentDuration(i, now)} so far`),
        },
        {
          header: 'Status',
          cell: (i) =>
            i.resolvedAt ? (
              <span title={`Resolved ${formatDateTime(i.resolvedAt)}`}>
                <Badge tone="green">resolved</Badge>
              </span>
            ) : (
              <Badge tone="red">open</Badge>
            ),
        },
      ]}
    />
  );
}
