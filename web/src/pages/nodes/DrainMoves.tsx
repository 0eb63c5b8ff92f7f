import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { jobsQuery } from '../../api/queries';
import type { Job } from '../../api/types';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { progressTone } from '../../components/JobProgress';
import { ProgressBar } from '../../components/ProgressBar';
import { isJobFinished, jobStatusTone, stepLabel } from '../../operate';
import { formatDowntime } from '../instance/MoveInstance';
import { type ClusterNode, type DrainMove, drainNode } from './api';

/** How often the moves of a drain are read again while one goes on. */
const MOVES_POLL_MS = 1_500;

const instances = (n: number) => `${n} instance${n === 1 ? '' : 's'}`;

/**
 * Asks before draining a node that has instances: each moves to another node (placement chooses),
 * one job each, with a short downtime, and the node takes no new instances.
 */
export function DrainDialog({
  node,
  onClose,
  onDrained,
}: {
  node: ClusterNode;
  onClose(): void;
  onDrained(answer: Awaited<ReturnType<typeof drainNode>>): void;
}) {
  return (
    <ConfirmDialog
      title={`Drain ${node.name}?`}
      confirmLabel={`Drain and move ${instances(node.instances)}`}
      tone="primary"
      onClose={onClose}
      onConfirm={async () => onDrained(await drainNode(node.id))}
    >
      <p>
        {node.name} takes no new instances, and{' '}
        <strong data-testid="drain-count">
          {node.instances === 1
            ? 'its instance moves to another node'
            : `its ${node.instances} instances move to other nodes`}
        </strong>
        , where placement puts each. Each moves in its own job: it is copied while it serves, then is down for a short
        while while its database and last changes are copied and it starts on its new node.
      </p>
      <p className="muted">Once {node.name} is empty, drain it again to drain it in Swarm too.</p>
    </ConfirmDialog>
  );
}

/** One move's state in words: waiting, its step, where it went and how long it was down, or why it failed. */
function moveState(job: Job | undefined): string {
  if (!job) return 'queued';
  if (job.status === 'queued') return 'waiting for its turn';
  if (job.status === 'running') return job.step ? stepLabel(job.step, job.kind) : 'starting';
  if (job.status === 'succeeded') {
    const downtime = (job.result as { downtimeMs?: number } | null)?.downtimeMs;
    return typeof downtime === 'number' ? `moved — down for ${formatDowntime(downtime)}` : 'moved';
  }
  return job.error?.message.split('\n')[0] ?? job.status;
}

/**
 * The moves a drain queued, each with its instance, the node it goes to and its progress, read
 * again until they end; then whether the node is empty, and "Drain" again (which drains it in Swarm
 * when it is, or moves what is left).
 */
export function DrainProgress({
  node,
  moves,
  busy,
  onDrainAgain,
  onDismiss,
}: {
  node: ClusterNode;
  moves: DrainMove[];
  busy: boolean;
  onDrainAgain(node: ClusterNode): void;
  onDismiss(): void;
}) {
  // One read of the move jobs since the first was queued, not one per job.
  const since = moves.map((m) => m.job.createdAt).sort()[0] ?? new Date().toISOString();
  const ids = new Set(moves.map((m) => m.job.id));
  const read = useQuery({
    ...jobsQuery({ kind: 'instance.move', since, limit: 200 }),
    refetchInterval: (query) =>
      (query.state.data ?? []).filter((j) => ids.has(j.id)).every((j) => isJobFinished(j.status))
        ? false
        : MOVES_POLL_MS,
  });
  const byId = new Map((read.data ?? []).map((j) => [j.id, j]));
  const jobs = moves.map((m) => ({ move: m, job: byId.get(m.job.id) ?? m.job }));
  const over = jobs.every(({ job }) => isJobFinished(job.status));
  const failed = jobs.filter(({ job }) => job.status === 'failed' || job.status === 'cancelled').length;
  const done = jobs.filter(({ job }) => job.status === 'succeeded').length;

  return (
    <section className="card card-body drain-moves" aria-label={`Draining ${node.name}`} data-testid="drain-moves">
      <div className="drain-moves-head">
        <strong>
          {over ? `Drain of ${node.name}` : `Draining ${node.name}`}
          {' — '}
          <span className="muted" data-testid="drain-summary">
            {done} of {instances(jobs.length)} moved{failed > 0 ? `, ${failed} failed` : ''}
          </span>
        </strong>
        {over ? (
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={onDismiss}>
            ×
          </button>
        ) : null}
      </div>
      <ul className="drain-moves-list">
        {jobs.map(({ move, job }) => (
          <li key={job.id} data-testid="drain-move" data-job-id={job.id} data-job-status={job.status}>
            <span className="drain-move-instance">
              <Link to={`/instances/${move.instanceId}`}>{job.target?.label ?? move.instanceId}</Link>
              <span className="muted"> → </span>
              <span className="mono" data-testid="drain-move-to">
                {move.to}
              </span>
            </span>
            <ProgressBar
              value={job.progress}
              label={`Move of ${job.target?.label ?? move.instanceId}`}
              tone={progressTone(job)}
              active={!isJobFinished(job.status)}
            />
            <span className="drain-move-state" data-testid="drain-move-state">
              {isJobFinished(job.status) ? <Badge tone={jobStatusTone[job.status]}>{job.status}</Badge> : null}{' '}
              {moveState(job)} · <Link to={`/jobs/${job.id}`}>Details</Link>
            </span>
          </li>
        ))}
      </ul>
      {over ? <DrainEnd node={node} failed={failed} busy={busy} onDrainAgain={onDrainAgain} /> : null}
    </section>
  );
}

/** Once the moves ended: the node is empty (drain it in Swarm), or instances are left on it. */
function DrainEnd({
  node,
  failed,
  busy,
  onDrainAgain,
}: {
  node: ClusterNode;
  failed: number;
  busy: boolean;
  onDrainAgain(node: ClusterNode): void;
}) {
  const empty = node.instances === 0;
  if (empty && node.availability === 'drain')
    return (
      <p className="drain-moves-end" data-testid="drain-end">
        {node.name} is empty and drained.
      </p>
    );
  return (
    <div className="drain-moves-end" data-testid="drain-end">
      <p>
        {empty
          ? `${node.name} is empty now: drain it again to drain it in Swarm too.`
          : `${instances(node.instances)} ${node.instances === 1 ? 'is' : 'are'} still on ${node.name}${failed > 0 ? ' (see the failed moves)' : ''}: drain it again to move ${node.instances === 1 ? 'it' : 'them'}.`}
      </p>
      <button
        type="button"
        className="btn btn-primary btn-small"
        data-testid="drain-again"
        disabled={busy}
        onClick={() => onDrainAgain(node)}
      >
        Drain {node.name}
      </button>
    </div>
  );
}
