import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { jobQuery } from '../../api/queries';
import type { Instance, Job } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ConfirmNameField, typedNameMatches } from '../../components/ConfirmNameField';
import { RestoreIcon } from '../../components/icons';
import { formatDateTime, formatRelative } from '../../format';
import { jobKindLabel } from '../../operate';
import '../../styles/undo-restore.css';

type Undo = NonNullable<Instance['undo']>;

/** What the job that put the data aside did, in the notice's words. */
const whatHappened: Record<string, { done: string; kept: string; dialog: string }> = {
  'backup.restore': { done: 'Restored', kept: 'The data it replaced', dialog: 'the restore replaced' },
  'instance.clone': { done: 'Replaced by a clone', kept: 'The data it replaced', dialog: 'the clone replaced' },
  'instance.undo_restore': {
    done: 'Restore undone',
    kept: 'The data it swapped out',
    dialog: 'the last undo swapped out',
  },
};
const unknownKind = { done: 'Data replaced', kept: 'The data it replaced', dialog: 'the last restore replaced' };

const wordsOf = (job: Job | undefined) => (job ? (whatHappened[job.kind] ?? unknownKind) : unknownKind);
/** When the job did it: it keeps the data aside in its last step. */
const doneAt = (job: Job) => job.finishedAt ?? job.startedAt ?? job.createdAt;

/**
 * The notice of an instance whose last restore (or clone, or undo) over it kept the data it
 * replaced: who did it, with a link to the job, until when the replaced data is kept, and — for
 * those who may — "Undo restore", which swaps it back.
 */
export function UndoNotice({
  instance,
  undo,
  now,
  canUndo,
  disabledTitle,
  onStarted,
}: {
  instance: Instance;
  undo: Undo;
  now: number;
  /** Org admins and owners (and platform admins): members see the notice without the button. */
  canUndo: boolean;
  /** Why the button is disabled now (a job holds the instance), or undefined when it is not. */
  disabledTitle: string | undefined;
  onStarted(job: Job): void;
}) {
  const [asking, setAsking] = useState(false);
  const source = useQuery(jobQuery(undo.operationId));
  const job = source.data?.job;
  const words = wordsOf(job);
  const at = job ? doneAt(job) : null;
  // The notice says what happened once the job is read (or could not be): no "Data replaced" flicker.
  if (source.isPending) return null;
  const jobLink = (
    <Link to={`/jobs/${undo.operationId}`} data-testid="undo-job-link">
      {job ? `${jobKindLabel(job.kind)} job` : 'job'} <span className="mono">{undo.operationId.slice(0, 8)}</span>
    </Link>
  );

  return (
    <section className="undo-notice" aria-label="Undo restore" data-testid="undo-notice">
      <span className="undo-notice-icon">
        <RestoreIcon />
      </span>
      <div className="undo-notice-text">
        <p>
          <strong>
            {words.done}
            {at ? (
              <>
                {' '}
                <time dateTime={at} title={formatDateTime(at)}>
                  {formatRelative(at, new Date(now))}
                </time>
              </>
            ) : null}
          </strong>
          {job ? <> by {job.actor.label}</> : null} · {jobLink}
        </p>
        <p className="undo-notice-kept">
          {words.kept} is kept until{' '}
          <time dateTime={undo.until} data-testid="undo-until">
            {formatDateTime(undo.until)}
          </time>{' '}
          <span className="muted">({formatRelative(undo.until, new Date(now))})</span>.{' '}
          {canUndo ? 'Undo restore swaps it back in.' : 'An organization admin can swap it back in.'}
        </p>
      </div>
      {canUndo ? (
        <button
          type="button"
          className="btn btn-secondary undo-notice-button"
          data-permission="backup.manage"
          disabled={Boolean(disabledTitle)}
          title={disabledTitle}
          onClick={() => setAsking(true)}
        >
          <RestoreIcon width={16} height={16} />
          Undo restore
        </button>
      ) : null}
      {asking ? (
        <UndoRestoreDialog instance={instance} job={job} onClose={() => setAsking(false)} onStarted={onStarted} />
      ) : null}
    </section>
  );
}

/**
 * Asks before swapping the kept data back: the instance stops, the kept data takes the place of the
 * current one, which is not deleted but kept as the undo in turn. Production needs its name typed.
 */
export function UndoRestoreDialog({
  instance,
  job,
  onClose,
  onStarted,
}: {
  instance: Instance;
  /** The job that put the data aside, once known. */
  job: Job | undefined;
  onClose(): void;
  onStarted(job: Job): void;
}) {
  const [typed, setTyped] = useState('');
  const production = instance.stage === 'production';
  const at = job ? doneAt(job) : null;

  async function run() {
    const confirm = production ? typed.trim() : undefined;
    const answer = await call(
      api.POST('/api/v1/instances/{id}/undo-restore', {
        params: { path: { id: instance.id } },
        body: confirm ? { confirm } : {},
      }),
    );
    onStarted(answer.job);
  }

  return (
    <ConfirmDialog
      title={`Undo the restore of ${instance.name}?`}
      confirmLabel="Undo restore"
      tone="danger"
      confirmDisabled={production && !typedNameMatches(typed, instance.name)}
      onClose={onClose}
      onConfirm={run}
    >
      <p>
        Marina stops {instance.name}, puts back the database and filestore {wordsOf(job).dialog}
        {at ? ` (${formatDateTime(at)})` : ''}, and starts it again. Its users are disconnected until Odoo answers.
      </p>
      <p className="undo-dialog-note" data-testid="undo-dialog-note">
        The current data, with everything changed since then, is not deleted: it is swapped out and{' '}
        <strong>kept as the undo</strong> in turn, so you can swap it back the same way.
      </p>
      {production ? (
        <ConfirmNameField
          id="confirm-undo-restore"
          name={instance.name}
          value={typed}
          onChange={setTyped}
          verb="undo the restore"
        />
      ) : null}
    </ConfirmDialog>
  );
}
