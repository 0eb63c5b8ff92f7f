import { queryOptions, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { queryKeys } from '../../api/queries';
import type { Instance, Job } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ConfirmNameField, typedNameMatches } from '../../components/ConfirmNameField';
import { ServerIcon } from '../../components/icons';
import { formatDateTime, formatRelative } from '../../format';
import { formatBytes } from '../../operate';
import { isOperator } from '../../session/permissions';
import { useMe } from '../../session/SessionContext';
import '../../styles/node-recovery.css';

type RecoveryPreview =
  paths['/api/v1/instances/{id}/recovery']['get']['responses'][200]['content']['application/json']['recovery'];

/**
 * Whether the instance can be recovered on another node, from which backup, what would be lost.
 * Under the instance's key: a job of the instance that ends (invalidateInstance) asks again.
 */
export const recoveryQuery = (instanceId: string) =>
  queryOptions({
    queryKey: [...queryKeys.instances.detail(instanceId), 'recovery'] as const,
    queryFn: async () =>
      (await call(api.GET('/api/v1/instances/{id}/recovery', { params: { path: { id: instanceId } } }))).recovery,
  });

/** The statuses where recovering on another node may be offered: the node is lost, or a recovery failed. */
const RECOVERABLE = ['unavailable', 'failed'];

const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "2 hours and 15 minutes", "3 days and 4 hours", "less than a minute": how much work would be lost. */
export function lossDuration(totalSeconds: number): string {
  if (totalSeconds < 60) return 'less than a minute';
  const minutes = Math.round(totalSeconds / 60);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  // The two largest units, the second left out when it is 0.
  const parts =
    days > 0
      ? [unit(days, 'day'), hours > 0 ? unit(hours, 'hour') : '']
      : hours > 0
        ? [unit(hours, 'hour'), rest > 0 ? unit(rest, 'minute') : '']
        : [unit(rest, 'minute')];
  return parts.filter(Boolean).join(' and ');
}

/** A time as a date people read, with how long ago in its title. */
function When({ iso, now, testId }: { iso: string; now: number; testId?: string }) {
  return (
    <time dateTime={iso} title={formatRelative(iso, new Date(now))} data-testid={testId}>
      {formatDateTime(iso)}
    </time>
  );
}

/** "Its node node9 is down since …", or for a failed instance, the node it failed on. */
function NodeLine({ instance, preview, now }: { instance: Instance; preview: RecoveryPreview; now: number }) {
  const { node } = preview;
  const name = (
    <Link to="/nodes" data-testid="recovery-node">
      {node.id}
    </Link>
  );
  const since = node.since ? (
    <>
      {' '}
      since <When iso={node.since} now={now} testId="recovery-node-since" />{' '}
      <span className="muted">({formatRelative(node.since, new Date(now))})</span>
    </>
  ) : null;
  if (instance.status === 'failed')
    return (
      <p>
        <strong>{instance.name} failed on node</strong> {name}, which is {node.state ?? 'in an unknown state'}
        {since}.
      </p>
    );
  return (
    <p>
      <strong>
        Its node {name} is {node.state ?? 'lost'}
      </strong>
      {since}.
    </p>
  );
}

/**
 * For platform admins, on the page of an instance whose cluster node is lost (or whose recovery
 * failed): since when the node is lost and, when it can be, "Recover on another node" from the
 * latest backup, saying which backup and how much work after it is lost; otherwise why not.
 */
export function NodeRecovery({
  instance,
  now,
  disabledTitle,
  onStarted,
}: {
  instance: Instance;
  now: number;
  /** Why the button is disabled now (a job holds the instance), or undefined when it is not. */
  disabledTitle: string | undefined;
  onStarted(job: Job): void;
}) {
  const me = useMe();
  const [asking, setAsking] = useState(false);
  const wanted = isOperator(me) && RECOVERABLE.includes(instance.status);
  const loaded = useQuery({ ...recoveryQuery(instance.id), enabled: wanted });
  if (!wanted || loaded.isPending) return null;
  const preview = loaded.data;
  // A failed instance outside the cluster has nothing to recover elsewhere: no panel for it.
  if (instance.status !== 'unavailable' && !preview?.possible) return null;

  return (
    <section className="recovery-notice" aria-label="Node recovery" data-testid="node-recovery">
      <span className="recovery-notice-icon">
        <ServerIcon />
      </span>
      <div className="recovery-notice-text">
        {preview ? <NodeLine instance={instance} preview={preview} now={now} /> : null}
        {loaded.error ? (
          <p className="recovery-notice-reason" role="alert">
            Whether it can be recovered on another node is not known: {errorMessage(loaded.error)}
          </p>
        ) : null}
        {preview?.possible && preview.backup ? (
          <p data-testid="recovery-plan">
            Recover on another node from the backup of{' '}
            <When iso={preview.backup.takenAt} now={now} testId="recovery-backup-at" />
            {preview.backup.sizeBytes === null ? '' : ` (${formatBytes(preview.backup.sizeBytes)})`}. Changes made after
            that backup — <strong data-testid="recovery-loss">{lossDuration(preview.dataLossSeconds ?? 0)}</strong> —
            will be lost.
          </p>
        ) : null}
        {preview && !preview.possible ? (
          <p className="recovery-notice-reason" data-testid="recovery-reason">
            It cannot be recovered on another node: {preview.reason}
          </p>
        ) : null}
      </div>
      {preview?.possible && preview.backup ? (
        <button
          type="button"
          className="btn btn-primary recovery-notice-button"
          disabled={Boolean(disabledTitle)}
          title={disabledTitle}
          onClick={() => setAsking(true)}
        >
          Recover on another node
        </button>
      ) : null}
      {asking && preview?.backup ? (
        <RecoverDialog
          instance={instance}
          preview={preview}
          backup={preview.backup}
          onClose={() => setAsking(false)}
          onStarted={onStarted}
        />
      ) : null}
    </section>
  );
}

/**
 * Asks before recovering: the service is removed from the lost node, the instance is placed on
 * another node and filled from the backup shown (its id is sent, so the backup recovered is the one
 * the user read). Production needs its name typed.
 */
function RecoverDialog({
  instance,
  preview,
  backup,
  onClose,
  onStarted,
}: {
  instance: Instance;
  preview: RecoveryPreview;
  backup: NonNullable<RecoveryPreview['backup']>;
  onClose(): void;
  onStarted(job: Job): void;
}) {
  const [typed, setTyped] = useState('');
  const production = instance.stage === 'production';

  async function run() {
    const confirm = production ? typed.trim() : undefined;
    const answer = await call(
      api.POST('/api/v1/instances/{id}/recover', {
        params: { path: { id: instance.id } },
        body: confirm ? { confirm, backupId: backup.id } : { backupId: backup.id },
      }),
    );
    onStarted(answer.job);
  }

  return (
    <ConfirmDialog
      title={`Recover ${instance.name} on another node?`}
      confirmLabel="Recover on another node"
      tone="danger"
      confirmDisabled={production && !typedNameMatches(typed, instance.name)}
      onClose={onClose}
      onConfirm={run}
    >
      <p>
        Marina removes the service of {instance.name} from node <span className="mono">{preview.node.id}</span>, so that
        the node cannot start it again if it comes back, then places {instance.name} on another node and restores the
        backup of {formatDateTime(backup.takenAt)} into it. Its users can work again once Odoo answers.
      </p>
      <p className="recovery-dialog-note" data-testid="recovery-dialog-note">
        Changes made after that backup — <strong>{lossDuration(preview.dataLossSeconds ?? 0)}</strong> — are lost.
      </p>
      {production ? (
        <ConfirmNameField
          id="confirm-recover"
          name={instance.name}
          value={typed}
          onChange={setTyped}
          verb="recover it on another node"
        />
      ) : null}
    </ConfirmDialog>
  );
}
