import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import type { Stage } from '../../api/types';
import { ExternalIcon } from '../../components/icons';
import { InstanceStatusBadge, StageBadge } from '../../components/StatusBadges';
import { formatDateTime, formatRelative } from '../../format';
import { useNow } from '../../live';
import { stageHelp, stageLabel } from '../../operate';
import type { ProjectInstance } from './queries';

/** The last finished backup of an instance, in one line: when, and whether it (or a copy) failed. */
function LastBackupLine({ instance, now }: { instance: ProjectInstance; now: number }) {
  const last = instance.lastBackup;
  if (!last)
    return (
      <span className="muted" data-testid="last-backup" data-status="none">
        No backup yet
      </span>
    );
  const at = last.completedAt ?? last.createdAt;
  const verdict = last.status === 'failed' ? 'failed' : last.problem ? 'offsite copy failed' : 'completed';
  return (
    <Link
      to={`/instances/${instance.id}?tab=backups`}
      className={last.problem ? 'last-backup last-backup-problem' : 'last-backup'}
      title={`${formatDateTime(at)} · ${verdict}`}
      data-testid="last-backup"
      data-status={last.status}
      data-problem={last.problem}
    >
      {formatRelative(at, new Date(now))}
      {last.problem ? ` · ${verdict}` : ''}
    </Link>
  );
}

function InstanceCard({ instance, now }: { instance: ProjectInstance; now: number }) {
  return (
    <li className="project-instance" data-instance={instance.name} data-instance-id={instance.id}>
      <div className="project-instance-head">
        <Link className="row-title mono" to={`/instances/${instance.id}`}>
          {instance.name}
        </Link>
        <InstanceStatusBadge instance={instance} />
      </div>
      <dl className="project-instance-facts">
        <div>
          <dt>Odoo</dt>
          <dd className="mono">{instance.odooVersion}</dd>
        </div>
        <div>
          <dt>URL</dt>
          <dd>
            {instance.url ? (
              <a className="external-link" href={instance.url} target="_blank" rel="noreferrer">
                {instance.url.replace(/^https?:\/\//, '')}
                <ExternalIcon width={12} height={12} />
              </a>
            ) : (
              <span className="muted">—</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Last backup</dt>
          <dd>
            <LastBackupLine instance={instance} now={now} />
          </dd>
        </div>
      </dl>
      {instance.statusDetail ? (
        <p className="status-detail" title={instance.statusDetail}>
          {instance.statusDetail}
        </p>
      ) : null}
      <div className="project-instance-actions">
        <Link className="btn btn-secondary btn-small" to={`/instances/${instance.id}`}>
          Open
        </Link>
        {instance.url ? (
          <a className="btn btn-ghost btn-small" href={instance.url} target="_blank" rel="noreferrer">
            Open Odoo
            <ExternalIcon width={12} height={12} />
          </a>
        ) : null}
      </div>
    </li>
  );
}

/** One stage of a project: its instances, newest first, and what can be added to it. */
export function StageColumn({
  stage,
  instances,
  action,
}: {
  stage: Stage;
  instances: ProjectInstance[];
  /** The way to add an instance to this stage (a link), when the user may. */
  action?: ReactNode;
}) {
  const now = useNow(30_000);
  const headingId = `stage-${stage}`;
  return (
    <section className={`card project-stage project-stage-${stage}`} aria-labelledby={headingId}>
      <header className="project-stage-head">
        <div className="project-stage-title">
          <h2 id={headingId}>
            <StageBadge stage={stage} />
          </h2>
          <span
            className="project-stage-count tabular"
            title={`${instances.length} ${stageLabel[stage].toLowerCase()} instances`}
          >
            {instances.length}
          </span>
        </div>
        <p className="muted project-stage-help">{stageHelp[stage]}</p>
      </header>
      {instances.length > 0 ? (
        <ul className="project-instances" aria-label={`${stageLabel[stage]} instances`}>
          {instances.map((instance) => (
            <InstanceCard key={instance.id} instance={instance} now={now} />
          ))}
        </ul>
      ) : (
        <p className="muted project-stage-empty">No {stageLabel[stage].toLowerCase()} instance yet.</p>
      )}
      {action ? <div className="project-stage-actions">{action}</div> : null}
    </section>
  );
}
