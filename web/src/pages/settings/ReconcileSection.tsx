import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { queryKeys, reconcileQuery } from '../../api/queries';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { Loading } from '../../components/EmptyState';

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
  const queryClient = useQueryClient();
  const { data, error, isFetching, isPending, refetch } = useQuery(reconcileQuery());
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
    // Adopting makes an instance; removing may change what Marina sees on the hosts.
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: queryKeys.reconcile }),
      queryClient.invalidateQueries({ queryKey: queryKeys.instances.all }),
    ]);
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
        <button type="button" className="btn btn-secondary" onClick={() => void refetch()} disabled={isFetching}>
          Check again
        </button>
      </header>
      <div className="card-body">
        {error ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
        {notice ? <Alert kind="success">{notice}</Alert> : null}
        {isPending ? <Loading /> : null}
        {data && data.orphans.length === 0 && data.missing.length === 0 ? (
          <p className="muted">Everything on the hosts matches what Marina knows.</p>
        ) : null}
        {data && data.unreachableHosts.length > 0 ? (
          <Alert kind="error">Not checked, the engine does not answer: {data.unreachableHosts.join(', ')}</Alert>
        ) : null}
      </div>
      {data ? (
        <DataTable
          label="Orphans"
          rows={data.orphans}
          rowKey={(orphan) => `${orphan.kind}:${orphan.hostId}:${orphan.name}`}
          columns={[
            { header: 'Kind', cell: (orphan) => <Badge tone="amber">{orphan.kind}</Badge> },
            { header: 'Name', className: 'mono', cell: (orphan) => orphan.name },
            { header: 'Host', className: 'mono', cell: (orphan) => orphan.hostId },
            { header: 'Details', className: 'muted', cell: (orphan) => orphan.detail },
            {
              header: 'Actions',
              hiddenHeader: true,
              className: 'nowrap',
              cell: (orphan) => (
                <>
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
                </>
              ),
            },
          ]}
        />
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
