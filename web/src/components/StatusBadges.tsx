import type { Instance, JobStatus, Stage } from '../api/types';
import { instanceStatusLook, jobStatusTone, stageLabel } from '../operate';
import { Badge, type BadgeTone } from './Badge';

/** An instance's status: coloured, pulsing while it changes, with the detail as tooltip. */
export function InstanceStatusBadge({ instance }: { instance: Pick<Instance, 'status' | 'statusDetail'> }) {
  const look = instanceStatusLook[instance.status] ?? { tone: 'gray' as const, label: instance.status };
  return (
    <span
      className={`badge badge-${look.tone} status-badge${look.transitional ? ' status-transitional' : ''}`}
      title={instance.statusDetail ?? undefined}
      data-testid="instance-status"
      data-status={instance.status}
    >
      <span className="status-dot" aria-hidden="true" />
      {look.label}
    </span>
  );
}

export function StageBadge({ stage }: { stage: Stage }) {
  return <span className={`badge stage-badge stage-${stage}`}>{stageLabel[stage]}</span>;
}

export function JobStatusBadge({ status }: { status: JobStatus }) {
  return (
    <Badge tone={jobStatusTone[status]}>
      <span data-testid="job-status">{status}</span>
    </Badge>
  );
}

const backupStatusTone: Record<string, BadgeTone> = {
  pending: 'gray',
  running: 'blue',
  completed: 'green',
  failed: 'red',
};

/** A backup's status; a failed one tells why on hover. */
export function BackupStatusBadge({ backup }: { backup: { status: string; error: string | null } }) {
  const moving = backup.status === 'pending' || backup.status === 'running';
  return (
    <span
      className={`badge badge-${backupStatusTone[backup.status] ?? 'gray'} status-badge${moving ? ' status-transitional' : ''}`}
      title={backup.error ?? undefined}
      data-testid="backup-status"
      data-status={backup.status}
    >
      <span className="status-dot" aria-hidden="true" />
      {backup.status}
    </span>
  );
}
