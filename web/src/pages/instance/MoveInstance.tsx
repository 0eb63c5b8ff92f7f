import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import type { Instance, Job } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ConfirmNameField, typedNameMatches } from '../../components/ConfirmNameField';
import { Field } from '../../components/Field';
import { isOperator } from '../../session/permissions';
import { useMe } from '../../session/SessionContext';
import { type ClusterNode, nodesQuery } from '../nodes/api';

/** Only a settled instance moves (src/modules/backups/move.ts refuses the others). */
const MOVABLE = ['running', 'stopped', 'exited'];

const inCluster = (node: ClusterNode) => node.role === 'manager' || node.role === 'worker';

/** "4.2 s", "1 min 12 s": how long a move kept the instance down. */
export function formatDowntime(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/** What a finished move job says: where the instance went and how long it was down. */
export function moveOutcome(job: Job): string | null {
  if (job.kind !== 'instance.move' || job.status !== 'succeeded' || !job.result) return null;
  const { from, to, downtimeMs } = job.result as { from?: string; to?: string; downtimeMs?: number };
  const where = from && to ? `Moved from ${from} to ${to}` : to ? `Moved to ${to}` : 'Moved';
  return typeof downtimeMs === 'number' ? `${where} — down for ${formatDowntime(downtimeMs)}.` : `${where}.`;
}

/**
 * "Move to another node", for platform admins, when the instance is settled and the cluster has a
 * node other than its own. The job it starts is followed by the page's job card.
 */
export function MoveInstanceButton({
  instance,
  busyTitle,
  onStarted,
}: {
  instance: Instance;
  /** Why the button is disabled now (a job holds the instance), or undefined when it is not. */
  busyTitle: string | undefined;
  onStarted(job: Job): void;
}) {
  const me = useMe();
  const admin = isOperator(me);
  const nodes = useQuery({ ...nodesQuery(), enabled: admin, refetchInterval: false });
  const [asking, setAsking] = useState(false);
  const others = (nodes.data ?? []).filter((n) => inCluster(n) && n.id !== instance.hostId);
  if (!admin || others.length === 0) return null;
  const settled = MOVABLE.includes(instance.status);
  const title =
    busyTitle ?? (settled ? undefined : `Only a running or stopped instance moves (it is ${instance.status})`);
  return (
    <>
      <button
        type="button"
        className="btn btn-secondary"
        data-testid="instance-move"
        disabled={Boolean(title)}
        title={title ?? 'Copy it to another node of the cluster, with a short downtime'}
        onClick={() => setAsking(true)}
      >
        Move to another node
      </button>
      {asking ? (
        <MoveDialog instance={instance} nodes={others} onClose={() => setAsking(false)} onStarted={onStarted} />
      ) : null}
    </>
  );
}

/** A node as the choice reads: its name, and what would keep it from taking the instance. */
function nodeChoice(node: ClusterNode): string {
  const notes = [
    node.nodeState && node.nodeState !== 'ready' ? node.nodeState : null,
    node.availability && node.availability !== 'active'
      ? node.availability === 'pause'
        ? 'draining'
        : 'drained'
      : null,
  ].filter(Boolean);
  return notes.length > 0 ? `${node.name} (${notes.join(', ')})` : node.name;
}

/**
 * Asks where to and, for production, the name: the move copies the filestore while Odoo serves,
 * then stops it for the database and the last changes, and starts it on the other node.
 */
function MoveDialog({
  instance,
  nodes,
  onClose,
  onStarted,
}: {
  instance: Instance;
  nodes: ClusterNode[];
  onClose(): void;
  onStarted(job: Job): void;
}) {
  const [to, setTo] = useState('');
  const [typed, setTyped] = useState('');
  const production = instance.stage === 'production';

  async function run() {
    const answer = await call(
      api.POST('/api/v1/instances/{id}/move', {
        params: { path: { id: instance.id } },
        body: { ...(to ? { to } : {}), ...(production ? { confirm: typed.trim() } : {}) },
      }),
    );
    onStarted(answer.job);
  }

  return (
    <ConfirmDialog
      title={`Move ${instance.name} to another node?`}
      confirmLabel="Move"
      tone="primary"
      confirmDisabled={production && !typedNameMatches(typed, instance.name)}
      onClose={onClose}
      onConfirm={run}
    >
      <p>
        Marina copies the filestore of {instance.name} to the other node while Odoo serves, then stops it, copies the
        database and what changed since, and starts it there.{' '}
        <strong>{instance.name} is down from the stop until Odoo answers on the new node</strong>: the time to copy its
        database, plus Odoo's start.
      </p>
      <p className="muted">
        It is on <span className="mono">{instance.hostId}</span> now.
      </p>
      <Field label="Move to" hint="Placement chooses the node with the most room that may take it.">
        {(props) => (
          <select {...props} value={to} onChange={(e) => setTo(e.target.value)} data-testid="move-to">
            <option value="">Where placement puts it</option>
            {nodes.map((n) => (
              <option key={n.id} value={n.id}>
                {nodeChoice(n)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {production ? (
        <ConfirmNameField id="confirm-move" name={instance.name} value={typed} onChange={setTyped} verb="move it" />
      ) : null}
    </ConfirmDialog>
  );
}
