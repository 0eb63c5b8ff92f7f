import { useQuery } from '@tanstack/react-query';
import { errorMessage } from '../../api/errors';
import { hostsQuery } from '../../api/queries';
import type { Host } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Badge, type BadgeTone } from '../../components/Badge';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { ServerIcon } from '../../components/icons';
import { formatDateTime, formatRelative } from '../../format';
import { formatBytes } from '../../operate';

const stateTones: Record<string, BadgeTone> = { reachable: 'green', unreachable: 'red', unknown: 'gray' };

function HostsTable({ hosts }: { hosts: Host[] }) {
  return (
    <DataTable
      label="Hosts"
      rows={hosts}
      rowKey={(host) => host.id}
      columns={[
        {
          header: 'Name',
          cell: (host) => (
            <span className="stacked-time">
              <span className="row-title">{host.name}</span>
              <span className="muted mono">{host.id}</span>
            </span>
          ),
        },
        { header: 'Docker host', className: 'mono', cell: (host) => host.dockerHost },
        {
          header: 'State',
          cell: (host) => (
            <span className="stacked-time">
              <span>
                <Badge tone={stateTones[host.state] ?? 'amber'}>{host.state}</Badge>
              </span>
              {host.checkedAt ? (
                <span className="muted" title={formatDateTime(host.checkedAt)}>
                  checked {formatRelative(host.checkedAt)}
                </span>
              ) : null}
            </span>
          ),
        },
        {
          header: 'Engine',
          cell: (host) => (
            <span className="stacked-time">
              <span>{host.engineVersion ? `Docker ${host.engineVersion}` : '—'}</span>
              {host.os ? <span className="muted">{host.os}</span> : null}
            </span>
          ),
        },
        { header: 'CPUs', headerClassName: 'num', className: 'num', cell: (host) => host.cpus ?? '—' },
        {
          header: 'Memory',
          headerClassName: 'num',
          className: 'num nowrap',
          cell: (host) => formatBytes(host.memoryBytes),
        },
        {
          header: 'Message',
          className: 'host-message',
          cell: (host) => host.message ?? <span className="muted">—</span>,
        },
      ]}
    />
  );
}

/** The Docker engines Marina places instances on (platform administrators only). */
export function HostsSection() {
  const { data, error, isFetching, isPending, refetch } = useQuery(hostsQuery());
  return (
    <section className="card card-flush">
      <header className="card-header">
        <div>
          <h2>Hosts</h2>
          <p className="card-subtitle">Docker engines that run the Odoo instances, as Marina last saw them.</p>
        </div>
        <button type="button" className="btn btn-secondary" onClick={() => void refetch()} disabled={isFetching}>
          Refresh
        </button>
      </header>
      {error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(error)}</Alert>
        </div>
      ) : null}
      {isPending ? <Loading /> : null}
      {data && data.length === 0 ? (
        <EmptyState icon={<ServerIcon width={28} height={28} />} title="No hosts yet">
          <p>Marina registers its local Docker engine when it starts.</p>
        </EmptyState>
      ) : null}
      {data && data.length > 0 ? <HostsTable hosts={data} /> : null}
    </section>
  );
}
