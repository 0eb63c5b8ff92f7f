import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import type { Host } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Badge, type BadgeTone } from '../../components/Badge';
import { EmptyState, Loading } from '../../components/EmptyState';
import { ServerIcon } from '../../components/icons';
import { formatDateTime, formatRelative } from '../../format';
import { formatBytes } from '../../operate';
import { useLoader } from '../../useLoader';

const stateTones: Record<string, BadgeTone> = { reachable: 'green', unreachable: 'red', unknown: 'gray' };

function HostsTable({ hosts }: { hosts: Host[] }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Hosts">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Docker host</th>
            <th scope="col">State</th>
            <th scope="col">Engine</th>
            <th scope="col" className="num">
              CPUs
            </th>
            <th scope="col" className="num">
              Memory
            </th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {hosts.map((host) => (
            <tr key={host.id}>
              <td>
                <span className="stacked-time">
                  <span className="row-title">{host.name}</span>
                  <span className="muted mono">{host.id}</span>
                </span>
              </td>
              <td className="mono">{host.dockerHost}</td>
              <td>
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
              </td>
              <td>
                <span className="stacked-time">
                  <span>{host.engineVersion ? `Docker ${host.engineVersion}` : '—'}</span>
                  {host.os ? <span className="muted">{host.os}</span> : null}
                </span>
              </td>
              <td className="num">{host.cpus ?? '—'}</td>
              <td className="num nowrap">{formatBytes(host.memoryBytes)}</td>
              <td className="host-message">{host.message ?? <span className="muted">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The Docker engines Marina places instances on (platform administrators only). */
export function HostsSection() {
  const { data, error, loading, reload } = useLoader(async () => (await call(api.GET('/api/v1/hosts'))).hosts, 'hosts');
  return (
    <section className="card card-flush">
      <header className="card-header">
        <div>
          <h2>Hosts</h2>
          <p className="card-subtitle">Docker engines that run the Odoo instances, as Marina last saw them.</p>
        </div>
        <button type="button" className="btn btn-secondary" onClick={() => void reload()} disabled={loading}>
          Refresh
        </button>
      </header>
      {error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(error)}</Alert>
        </div>
      ) : null}
      {loading && !data ? <Loading /> : null}
      {data && data.length === 0 ? (
        <EmptyState icon={<ServerIcon width={28} height={28} />} title="No hosts yet">
          <p>Marina registers its local Docker engine when it starts.</p>
        </EmptyState>
      ) : null}
      {data && data.length > 0 ? <HostsTable hosts={data} /> : null}
    </section>
  );
}
