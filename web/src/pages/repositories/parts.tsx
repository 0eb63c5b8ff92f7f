import { type ReactNode, useId, useState } from 'react';
import { Link } from 'react-router-dom';
import type { Checkout, Commit, Job } from '../../api/types';
import { Badge, type BadgeTone } from '../../components/Badge';
import { DataTable } from '../../components/DataTable';
import { AlertIcon } from '../../components/icons';
import { formatDateTime, formatRelative } from '../../format';
import { jobKindLabel } from '../../operate';

export const shortHash = (hash: string | null | undefined): string => (hash ? hash.slice(0, 7) : '—');

interface StatusLook {
  key: string;
  tone: BadgeTone;
  label: string;
  title?: string;
}

/** What the badges of a checkout say: failed, dirty, ahead N, behind N, diverged — or up to date. */
export function checkoutLooks(checkout: Checkout): StatusLook[] {
  if (checkout.status === 'failed')
    return [{ key: 'failed', tone: 'red', label: 'failed', title: checkout.error ?? undefined }];
  if (checkout.status === 'pending' || checkout.commit === null)
    return [{ key: 'pending', tone: 'gray', label: 'not cloned yet' }];
  const git = checkout.git;
  if (!git) return [];
  const looks: StatusLook[] = [];
  if (git.diverged)
    looks.push({
      key: 'diverged',
      tone: 'red',
      label: 'diverged',
      title: 'The branch and the remote both have commits the other lacks: an update is refused.',
    });
  if (git.dirty)
    looks.push({ key: 'dirty', tone: 'amber', label: 'dirty', title: 'Files of the checkout were changed on disk.' });
  if (git.ahead > 0 && !git.diverged)
    looks.push({
      key: 'ahead',
      tone: 'violet',
      label: `ahead ${git.ahead}`,
      title: 'Commits the remote does not have.',
    });
  if (git.behind > 0 && !git.diverged)
    looks.push({
      key: 'behind',
      tone: 'amber',
      label: `behind ${git.behind}`,
      title: 'New commits on the remote, as last fetched: Update brings them in.',
    });
  if (looks.length === 0)
    looks.push({
      key: 'up-to-date',
      tone: 'green',
      label: 'up to date',
      title: 'The same commit as the remote, as last fetched.',
    });
  return looks;
}

export function CheckoutBadges({ checkout }: { checkout: Checkout }) {
  const looks = checkoutLooks(checkout);
  return (
    <span className="repo-badges" data-testid="repo-status" data-status={looks.map((l) => l.key).join(' ')}>
      {looks.map((look) => (
        <span key={look.key} title={look.title}>
          <Badge tone={look.tone}>{look.label}</Badge>
        </span>
      ))}
    </span>
  );
}

/** The HEAD commit in one line: hash, subject, author, how long ago. */
export function CommitLine({ commit }: { commit: Commit }) {
  return (
    <span className="commit-line" data-testid="head-commit">
      <code className="commit-hash" title={commit.hash}>
        {shortHash(commit.hash)}
      </code>
      <span className="commit-subject">{commit.subject}</span>
      <span className="muted commit-meta" title={formatDateTime(commit.date)}>
        {commit.author} · {formatRelative(commit.date)}
      </span>
    </span>
  );
}

/** The full commit and the recent ones, folded away until asked for. */
export function CommitDetails({ head, commits }: { head: Commit; commits: Commit[] }) {
  return (
    <details className="commit-details">
      <summary>Commit details and recent commits</summary>
      <dl className="commit-facts">
        <dt>Commit</dt>
        <dd className="mono">{head.hash}</dd>
        <dt>Author</dt>
        <dd>
          {head.author} <span className="muted">&lt;{head.email}&gt;</span>
        </dd>
        <dt>Date</dt>
        <dd>{formatDateTime(head.date)}</dd>
        <dt>Subject</dt>
        <dd>{head.subject}</dd>
      </dl>
      <DataTable
        label="Recent commits"
        className="table-compact recent-commits"
        rows={commits}
        rowKey={(c) => c.hash}
        rowProps={(c) => ({ className: c.hash === head.hash ? 'commit-head' : undefined })}
        columns={[
          { header: 'Commit', cell: (c) => <code title={c.hash}>{shortHash(c.hash)}</code> },
          { header: 'Subject', cell: (c) => c.subject },
          { header: 'Author', className: 'nowrap', cellProps: (c) => ({ title: c.email }), cell: (c) => c.author },
          {
            header: 'Date',
            className: 'nowrap muted',
            cellProps: (c) => ({ title: formatDateTime(c.date) }),
            cell: (c) => formatRelative(c.date),
          },
        ]}
      />
    </details>
  );
}

interface UpdateOutcome {
  from: string | null;
  to: string | null;
  upgraded: string[];
  restarted: boolean;
}

function outcomeOf(job: Job): UpdateOutcome | null {
  const r = job.result;
  if (!r) return null;
  return {
    from: typeof r.from === 'string' ? r.from : null,
    to: typeof r.to === 'string' ? r.to : null,
    upgraded: Array.isArray(r.upgraded) ? r.upgraded.filter((m): m is string => typeof m === 'string') : [],
    restarted: r.restarted === true,
  };
}

/** What a finished update did: from → to, the upgraded modules, the restart. */
export function UpdateResult({ job }: { job: Job }) {
  const outcome = job.status === 'succeeded' ? outcomeOf(job) : null;
  if (!outcome) return null;
  const moved = outcome.from !== outcome.to;
  return (
    <p className="update-result" data-testid="update-result">
      {moved ? (
        <>
          {outcome.from ? 'Updated ' : 'Cloned at '}
          {outcome.from ? (
            <>
              <code>{shortHash(outcome.from)}</code> →{' '}
            </>
          ) : null}
          <code>{shortHash(outcome.to)}</code>
        </>
      ) : (
        <>
          Already up to date at <code>{shortHash(outcome.to)}</code>
        </>
      )}
      {outcome.upgraded.length > 0 ? (
        <>
          {' · upgraded '}
          <span className="mono">{outcome.upgraded.join(', ')}</span>
        </>
      ) : outcome.from ? (
        ' · no module upgraded'
      ) : null}
      {outcome.restarted ? ' · Odoo restarted' : ''}
    </p>
  );
}

/** A successful update from before this visit, in one line. */
export function LastUpdate({ job }: { job: Job }) {
  const when = job.finishedAt ?? job.createdAt;
  return (
    <div className="last-update" data-testid="last-update" data-status={job.status}>
      <span className="muted" title={formatDateTime(when)}>
        Last update {formatRelative(when)}:
      </span>{' '}
      <UpdateResult job={job} /> <Link to={`/jobs/${job.id}`}>Details</Link>
    </div>
  );
}

/**
 * Why the checkout is not where its branch is: the last update failed (and was rolled back), or the
 * first clone failed. The job's message has Odoo's error lines; the checkout's error is the fallback.
 */
export function UpdateFailure({ job, error, cloned }: { job: Job | null; error: string; cloned: boolean }) {
  // The checkout's own error is the truth about this repository; a failed update job of it says
  // the same at more length. Another job (a provisioning that tried the clone) only gets a link.
  const ownJob = job?.kind === 'repository.update';
  const failedJob = job && ownJob && job.status === 'failed' ? job : null;
  const message = failedJob?.error?.message ?? error;
  const rolledBack = /Rolled back/i.test(message);
  const when = failedJob?.finishedAt;
  const title = !cloned
    ? 'The checkout failed'
    : rolledBack
      ? 'The last update failed and was rolled back'
      : 'The last update failed; nothing was changed';
  return (
    <div
      className={`alert ${cloned ? 'alert-warning' : 'alert-error'}`}
      role="alert"
      data-testid="last-update"
      data-status="failed"
    >
      <span className="alert-icon">
        <AlertIcon />
      </span>
      <div className="alert-content">
        <strong className="alert-title">
          {title}
          {when ? <span className="muted"> · {formatRelative(when)}</span> : null}
        </strong>
        <pre className="repo-error">{message}</pre>
        {job ? (
          <p>
            <Link to={`/jobs/${job.id}`} data-testid="checkout-job-link">
              {ownJob ? 'Open the job and its full log' : `Open that job (${jobKindLabel(job.kind)}) and its log`}
            </Link>
          </p>
        ) : null}
      </div>
    </div>
  );
}

/** A labelled on/off switch for a setting that saves at once. */
export function SettingSwitch({
  label,
  hint,
  checked,
  disabled,
  onChange,
}: {
  label: string;
  hint?: ReactNode;
  checked: boolean;
  disabled?: boolean;
  onChange(next: boolean): Promise<void>;
}) {
  const id = useId();
  const [busy, setBusy] = useState(false);
  return (
    <div className="setting-switch">
      <button
        id={id}
        type="button"
        role="switch"
        aria-checked={checked}
        aria-describedby={hint ? `${id}-hint` : undefined}
        className={`switch${checked ? ' switch-on' : ''}`}
        disabled={disabled || busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onChange(!checked);
          } finally {
            setBusy(false);
          }
        }}
      >
        <span className="switch-thumb" aria-hidden="true" />
      </button>
      <div>
        <label htmlFor={id} className="setting-switch-label">
          {label}
        </label>
        {hint ? (
          <p id={`${id}-hint`} className="field-hint">
            {hint}
          </p>
        ) : null}
      </div>
    </div>
  );
}
