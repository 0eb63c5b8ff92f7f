import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Loading } from '../../components/EmptyState';
import { StageBadge } from '../../components/StatusBadges';
import '../../styles/instance-dialogs.css';

/**
 * "Restart all" names what it restarts: the server's own selection (running instances with no job
 * at work, production first), asked when the dialog opens; the restart takes the same selection.
 */
export function RestartAllDialog({ onClose, onQueued }: { onClose(): void; onQueued(jobs: number): void }) {
  const selection = useQuery({
    queryKey: ['instances', 'restart-all'],
    queryFn: async () => (await call(api.GET('/api/v1/instances/restart-all'))).instances,
    staleTime: 0,
  });
  const instances = selection.data ?? [];
  const production = instances.filter((i) => i.stage === 'production').length;
  return (
    <ConfirmDialog
      title={
        selection.data
          ? `Restart ${instances.length} running instance${instances.length === 1 ? '' : 's'}?`
          : 'Restart every running instance?'
      }
      confirmLabel="Restart all"
      confirmDisabled={!selection.data || instances.length === 0}
      onConfirm={async () => {
        const { jobs } = await call(api.POST('/api/v1/instances/restart-all'));
        onQueued(jobs.length);
      }}
      onClose={onClose}
    >
      <p>
        Each instance restarts in its own job, a few at a time per host. Their users see a short interruption.
        {production > 0 ? (
          <>
            {' '}
            <strong>
              {production} of them {production === 1 ? 'is' : 'are'} production.
            </strong>
          </>
        ) : null}
      </p>
      {selection.isPending ? <Loading /> : null}
      {selection.error ? <Alert kind="error">{errorMessage(selection.error)}</Alert> : null}
      {selection.data && instances.length === 0 ? <p>No instance is running without a job at work on it.</p> : null}
      {instances.length > 0 ? (
        <ul className="restart-all-list" aria-label="Instances to restart" data-testid="restart-all-list">
          {instances.map((i) => (
            <li key={i.id}>
              <span className="mono">
                {i.project}/{i.name}
              </span>
              <StageBadge stage={i.stage} />
            </li>
          ))}
        </ul>
      ) : null}
      <p className="muted">Instances busy with another job (a backup, a restore…) are left alone.</p>
    </ConfirmDialog>
  );
}
