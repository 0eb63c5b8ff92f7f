import { type ReactNode, useEffect, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import type { Backup, BackupFormat, BackupKind, BackupTrigger } from '../../api/types';
import { DataTable } from '../../components/DataTable';
import { CheckIcon, CopyIcon } from '../../components/icons';
import { ProgressBar } from '../../components/ProgressBar';
import { BackupStatusBadge } from '../../components/StatusBadges';
import { formatDate, formatRelative, formatShortTime } from '../../format';
import { useJobStream, useNow } from '../../live';
import { formatBytes, isJobFinished } from '../../operate';
import { StoredCell, VerificationNote } from '../offsite/parts';
import { RunStateBadge } from '../offsite/RunState';
import { BackupActions, BackupDetails, CopyProblem, DetailsToggle, hasProblem } from './row-parts';

export const kindLabel: Record<BackupKind, string> = {
  full: 'Full',
  database: 'Database',
  filestore: 'Filestore',
};

export const kindHint: Record<BackupKind, string> = {
  full: 'The database and the filestore (attachments): everything needed to bring the instance back.',
  database: 'Only the database; attachments stay out. Smaller, but a restore keeps the current filestore.',
  filestore: 'Only the attachments. Can be restored into an existing instance, not into a new one.',
};

export const formatLabel: Record<BackupFormat, string> = { zip: 'Odoo zip', native: 'Native' };

export const triggerLabel: Record<BackupTrigger, string> = {
  manual: 'Manual',
  schedule: 'Scheduled',
  'pre-restore': 'Before a restore',
  'pre-update': 'Before an update',
  'pre-delete': 'Before deletion',
  import: 'Import',
};

export const isBackupMoving = (backup: Pick<Backup, 'status'>): boolean =>
  backup.status === 'pending' || backup.status === 'running';

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // The Clipboard API needs a secure context; plain-http installs copy through a hidden field.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}

/** The start of a checksum, the whole of it on hover, and a button that copies it. */
export function Checksum({ sha256 }: { sha256: string | null }) {
  const [copied, setCopied] = useState(false);
  if (!sha256) return <span className="muted">—</span>;
  return (
    <span className="checksum">
      <code title={`SHA-256 ${sha256}`} data-testid="backup-sha">
        {sha256.slice(0, 8)}…
      </code>
      <button
        type="button"
        className="icon-button icon-button-small"
        aria-label="Copy the SHA-256 checksum"
        title={copied ? 'Copied' : 'Copy the full SHA-256 checksum'}
        onClick={async () => {
          await copyText(sha256);
          setCopied(true);
          window.setTimeout(() => setCopied(false), 1500);
        }}
      >
        {copied ? <CheckIcon width={14} height={14} /> : <CopyIcon width={14} height={14} />}
      </button>
    </span>
  );
}

/** A switch: pinned backups are kept by every cleanup. */
export function PinToggle({
  backup,
  disabled,
  onChange,
}: {
  backup: Backup;
  disabled?: boolean;
  onChange(pinned: boolean): Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      role="switch"
      aria-checked={backup.pinned}
      aria-label="Pinned"
      title={
        disabled
          ? backup.pinned
            ? 'Pinned: no cleanup deletes it'
            : 'Not pinned'
          : backup.pinned
            ? 'Pinned: no cleanup deletes it. Click to unpin.'
            : 'Pin it so no cleanup ever deletes it'
      }
      className={`switch${backup.pinned ? ' switch-on' : ''}`}
      disabled={disabled || busy}
      onClick={async () => {
        setBusy(true);
        try {
          await onChange(!backup.pinned);
        } finally {
          setBusy(false);
        }
      }}
    >
      <span className="switch-thumb" aria-hidden="true" />
    </button>
  );
}

/** The live progress of the job writing a backup, in its table row. */
function RowProgress({ jobId, onEnded }: { jobId: string; onEnded(): void }) {
  const { job, ended } = useJobStream(jobId);
  const endedRef = useRef(onEnded);
  endedRef.current = onEnded;
  const over = ended || (job !== null && isJobFinished(job.status));
  useEffect(() => {
    if (over) endedRef.current();
  }, [over]);
  if (!job) return null;
  return (
    <span className="progress-cell row-progress">
      <ProgressBar value={job.progress} label="Backup progress" active={!over} />
      <span className="tabular muted">{job.progress}%</span>
    </span>
  );
}

export function BackupsTable({
  backups,
  label,
  showInstance,
  canManage,
  onPin,
  onRestore,
  onDelete,
  onJobEnded,
  onVerify,
  onDownloadDump,
  details,
  empty,
}: {
  backups: Backup[];
  label: string;
  showInstance?: boolean;
  /** Rows open to show their offsite copies, errors and job log (the instance's one table). */
  details?: boolean;
  /** Shown instead of the table when no row is left (after filters). */
  empty?: ReactNode;
  canManage(backup: Backup): boolean;
  onPin(backup: Backup, pinned: boolean): Promise<void>;
  onRestore(backup: Backup): void;
  onDelete(backup: Backup): void;
  onJobEnded(): void;
  /** "Test restore": loads the backup into a throwaway database. */
  onVerify?(backup: Backup): void;
  /** "Download .dump": prepares the backup's database as a custom-format .dump, then downloads it. */
  onDownloadDump?(backup: Backup): void;
}) {
  const now = useNow(30_000);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return (
    <DataTable
      label={label}
      className="table-compact backups-table"
      rows={backups}
      rowKey={(backup) => backup.id}
      empty={empty}
      rowProps={(backup) => ({
        className: hasProblem(backup) ? 'run-problem' : undefined,
        'data-backup-id': backup.id,
        'data-status': backup.status,
        'data-run-state': backup.runState,
        'data-format': backup.format,
        'data-pinned': backup.pinned,
        'data-trigger': backup.trigger,
        'data-problem': hasProblem(backup),
      })}
      rowDetails={details ? (backup) => (open.has(backup.id) ? <BackupDetails backup={backup} /> : null) : undefined}
      columns={[
        details && {
          header: 'Details',
          hiddenHeader: true,
          headerClassName: 'row-chevron',
          className: 'row-chevron',
          cell: (backup) => <DetailsToggle open={open.has(backup.id)} onToggle={() => toggle(backup.id)} />,
        },
        {
          header: 'Created',
          className: 'nowrap',
          cell: (backup) => (
            <span
              className="stacked-time"
              title={`${formatRelative(backup.createdAt, new Date(now))}, by ${backup.createdBy}`}
            >
              <span>{formatDate(backup.createdAt)}</span>
              <span className="muted">{formatShortTime(backup.createdAt)}</span>
            </span>
          ),
        },
        showInstance && {
          header: 'Instance',
          className: 'nowrap',
          cell: (backup) =>
            backup.instanceId ? (
              <Link className="row-title mono" to={`/instances/${backup.instanceId}?tab=backups`}>
                {backup.instanceLabel}
              </Link>
            ) : (
              <span className="stacked-time">
                <span className="mono">{backup.instanceLabel}</span>
                <span className="muted">instance deleted</span>
              </span>
            ),
        },
        {
          header: 'Kind',
          headerTitle: 'What it holds, and its format',
          cell: (backup) => (
            <span className="kind-cell">
              <span title={kindHint[backup.kind]}>{kindLabel[backup.kind]}</span>
              <span className={`format-tag format-${backup.format}`}>{formatLabel[backup.format]}</span>
            </span>
          ),
        },
        {
          header: 'Size · SHA-256',
          headerClassName: 'num',
          className: 'num nowrap',
          cell: (backup) => (
            <span className="size-cell">
              <span className="tabular">{formatBytes(backup.sizeBytes)}</span>
              <Checksum sha256={backup.sha256} />
            </span>
          ),
        },
        { header: 'Stored', className: 'stored-td', cell: (backup) => <StoredCell backup={backup} /> },
        { header: 'Trigger', className: 'trigger-cell', cell: (backup) => triggerLabel[backup.trigger] },
        {
          header: 'Status',
          cell: (backup) => (
            <span className="status-cell">
              {/* A good backup whose copy failed is a partial run (run-state.ts), not "completed". */}
              {backup.runState === 'partial' ? (
                <RunStateBadge state="partial" />
              ) : (
                <BackupStatusBadge backup={backup} />
              )}
              {isBackupMoving(backup) && backup.jobId ? (
                <RowProgress jobId={backup.jobId} onEnded={onJobEnded} />
              ) : null}
              {backup.status === 'failed' && backup.error ? (
                <span className="status-detail status-detail-error" title={backup.error}>
                  {backup.error}
                </span>
              ) : null}
              <CopyProblem backup={backup} />
              <VerificationNote backup={backup} />
            </span>
          ),
        },
        {
          header: 'Pinned',
          cell: (backup) => (
            <PinToggle backup={backup} disabled={!canManage(backup)} onChange={(pinned) => onPin(backup, pinned)} />
          ),
        },
        {
          header: 'Actions',
          hiddenHeader: true,
          headerClassName: 'actions',
          className: 'actions',
          cell: (backup) =>
            canManage(backup) ? (
              <BackupActions
                backup={backup}
                onRestore={onRestore}
                onDelete={onDelete}
                onVerify={onVerify}
                onDownloadDump={onDownloadDump}
              />
            ) : null,
        },
      ]}
    />
  );
}
