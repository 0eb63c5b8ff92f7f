import { useQueries, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, call } from '../../api/client';
import { queryKeys } from '../../api/queries';
import type { Project } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { formatDateTime } from '../../format';
import { formatBytes } from '../../operate';
import { useMe } from '../../session/SessionContext';
import '../../styles/instance-dialogs.css';

const deletedInstancesOf = (projectId: string) => ({
  queryKey: ['projects', projectId, 'deleted-instances'] as const,
  queryFn: async () =>
    call(api.GET('/api/v1/projects/{id}/deleted-instances', { params: { path: { id: projectId } } })),
});

type Answer = Awaited<ReturnType<ReturnType<typeof deletedInstancesOf>['queryFn']>>;
type KeptBackup = Answer['backups'][number];

/** The instance's name in `<project>/<instance>`, as the backup remembers it. */
const instanceName = (backup: KeptBackup) => backup.instanceLabel.split('/').slice(1).join('/');

/** Brings a deleted instance back from its safety backup: a new instance of the same project. */
function RestoreDeletedDialog({ backup, project, onClose }: { backup: KeptBackup; project: Project; onClose(): void }) {
  const me = useMe();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [name, setName] = useState(instanceName(backup));
  const [stage, setStage] = useState<'production' | 'staging' | 'development'>('staging');
  const [adminLogin, setAdminLogin] = useState(me.user.email);
  return (
    <ConfirmDialog
      title={`Restore ${backup.instanceLabel}?`}
      confirmLabel="Restore as new instance"
      tone="primary"
      confirmDisabled={!name.trim() || !adminLogin.trim()}
      onClose={onClose}
      onConfirm={async () => {
        const answer = await call(
          api.POST('/api/v1/backups/{id}/restore', {
            params: { path: { id: backup.id } },
            body: { newInstance: { project: project.id, name: name.trim(), stage, adminLogin: adminLogin.trim() } },
          }),
        );
        void queryClient.invalidateQueries({ queryKey: queryKeys.jobs.all });
        navigate(`/instances/${answer.instance.id}`);
      }}
    >
      <p>
        Marina makes a new instance in {project.displayName ?? project.name} from the safety backup taken when{' '}
        {instanceName(backup)} was deleted ({backup.completedAt ? formatDateTime(backup.completedAt) : 'unknown'}). The
        backup stays kept.
      </p>
      <div className="field">
        <label htmlFor="restore-deleted-name">Name of the new instance</label>
        <input id="restore-deleted-name" className="mono" value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="restore-deleted-stage">Stage</label>
        <select id="restore-deleted-stage" value={stage} onChange={(e) => setStage(e.target.value as typeof stage)}>
          <option value="production">Production</option>
          <option value="staging">Staging</option>
          <option value="development">Development</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor="restore-deleted-login">Marina’s record of the admin login</label>
        <input id="restore-deleted-login" value={adminLogin} onChange={(e) => setAdminLogin(e.target.value)} />
      </div>
    </ConfirmDialog>
  );
}

/**
 * Deleted instances whose safety backup Marina still keeps, per project, each with "Restore deleted
 * instance". Shown under the instance list, also when that list is empty.
 */
export function DeletedInstances({ projects }: { projects: Project[] }) {
  const answers = useQueries({ queries: projects.map((p) => deletedInstancesOf(p.id)) });
  const [restoring, setRestoring] = useState<{ backup: KeptBackup; project: Project } | null>(null);
  const rows = projects.flatMap((project, i) =>
    (answers[i]?.data?.backups ?? []).map((backup) => ({ project, backup, policy: answers[i]?.data?.policy })),
  );
  if (rows.length === 0) return null;
  return (
    <section className="card card-flush deleted-instances" aria-labelledby="deleted-instances-title">
      <div className="card-body">
        <h2 id="deleted-instances-title">Deleted instances Marina can bring back</h2>
        <p className="muted">
          Before deleting an instance Marina backs up its database and filestore. These backups are kept on the Marina
          server until someone deletes them (under Backups).
        </p>
      </div>
      <ul className="deleted-instances-list" data-testid="deleted-instances">
        {rows.map(({ project, backup, policy }) => (
          <li key={backup.id} data-deleted-instance={backup.instanceLabel}>
            <span>
              <strong className="mono">{backup.instanceLabel}</strong>
              <span className="muted">
                {' '}
                · deleted {backup.completedAt ? formatDateTime(backup.completedAt) : ''} ·{' '}
                {formatBytes(backup.sizeBytes)} · kept{' '}
                {policy?.keptUntil ? `until ${formatDateTime(policy.keptUntil)}` : 'until deleted'}
              </span>
            </span>
            <button type="button" className="btn btn-secondary" onClick={() => setRestoring({ backup, project })}>
              Restore deleted instance
            </button>
          </li>
        ))}
      </ul>
      {restoring ? (
        <RestoreDeletedDialog
          backup={restoring.backup}
          project={restoring.project}
          onClose={() => setRestoring(null)}
        />
      ) : null}
    </section>
  );
}
