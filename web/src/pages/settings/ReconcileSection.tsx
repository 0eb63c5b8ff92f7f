import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Loading } from '../../components/EmptyState';
import { useLoader } from '../../useLoader';

interface Orphan {
  kind: 'container' | 'volume' | 'database';
  name: string;
  hostId: string;
  madeFor: string | null;
  detail: string;
}

type Pending = { action: 'adopt' | 'remove'; orphan: Orphan } | null;

/**
 * What exists on the hosts but Marina does not know (orphans), and known instances whose container
 * is gone. Removing is final; adopting takes an Odoo container back as an instance.
 */
export function ReconcileSection() {
  const { data, error, loading, reload } = useLoader(async () => call(api.GET('/api/v1/reconcile')), 'reconcile');
  const [pending, setPending] = useState<Pending>(null);
  const [notice, setNotice] = useState<string | null>(null);

  async function run(p: NonNullable<Pending>) {
    const body = { hostId: p.orphan.hostId, name: p.orphan.name };
    if (p.action === 'adopt') {
      const { instance } = await call(api.POST('/api/v1/reconcile/adopt', { body }));
      setNotice(`Adopted ${p.orphan.name} as the instance “${instance.name}”.`);
    } else {
      await call(api.POST('/api/v1/reconcile/remove', { body: { ...body, kind: p.orphan.kind } }));
      setNotice(`Removed the ${p.orphan.kind} ${p.orphan.name}.`);
    }
    await reload();
  }

  return (
    <section className="card card-flush">
      <header className="card-header">
        <div>
          <h2>Reconciliation</h2>
          <p className="card-subtitle">
            Docker objects and databases marked as Marina's that no instance owns, and instances whose container
            vanished.
          </p>
        </div>
        <button type="button" className="btn btn-secondary" onClick={() => void reload()} disabled={loading}>
          Check again
        </button>
      </header>
      <div className="card-body">
        {error ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
        {notice ? <Alert kind="success">{notice}</Alert> : null}
        {loading && !data ? <Loading /> : null}
        {data && data.orphans.length === 0 && data.missing.length === 0 ? (
          <p className="muted">Everything on the hosts matches what Marina knows.</p>
        ) : null}
        {data && data.unreachableHosts.length > 0 ? (
          <Alert kind="error">Not checked, the engine does not answer: {data.unreachableHosts.join(', ')}</Alert>
        ) : null}
      </div>
      {data && data.orphans.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Orphans">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Name</th>
                <th scope="col">Host</th>
                <th scope="col">Details</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.orphans.map((orphan) => (
                <tr key={`${orphan.kind}:${orphan.hostId}:${orphan.name}`}>
                  <td>
                    <Badge tone="amber">{orphan.kind}</Badge>
                  </td>
                  <td className="mono">{orphan.name}</td>
                  <td className="mono">{orphan.hostId}</td>
                  <td className="muted">{orphan.detail}</td>
                  <td className="nowrap">
                    {orphan.kind === 'container' && orphan.detail.startsWith('odoo,') ? (
                      <button
                        type="button"
                        className="btn btn-secondary btn-small"
                        onClick={() => setPending({ action: 'adopt', orphan })}
                      >
                        Adopt
                      </button>
                    ) : null}{' '}
                    <button
                      type="button"
                      className="btn btn-danger-text btn-small"
                      onClick={() => setPending({ action: 'remove', orphan })}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {data && data.missing.length > 0 ? (
        <div className="card-body">
          <h3>Instances without their container</h3>
          <ul>
            {data.missing.map((m) => (
              <li key={m.id}>
                <Link to={`/instances/${m.id}`}>{m.name}</Link> — start it to create{' '}
                <span className="mono">{m.containerName}</span> again.
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {pending ? (
        <ConfirmDialog
          title={
            pending.action === 'adopt'
              ? `Adopt ${pending.orphan.name}?`
              : `Remove ${pending.orphan.kind} ${pending.orphan.name}?`
          }
          confirmLabel={pending.action === 'adopt' ? 'Adopt' : 'Remove for good'}
          tone={pending.action === 'adopt' ? 'primary' : 'danger'}
          onConfirm={() => run(pending)}
          onClose={() => setPending(null)}
        >
          {pending.action === 'adopt' ? (
            <p>
              Marina takes this Odoo container back as an instance, with the settings it finds in its labels and its
              odoo.conf. The administrator's password cannot be recovered.
            </p>
          ) : (
            <p>This deletes the {pending.orphan.kind} and everything in it. It cannot be undone.</p>
          )}
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
