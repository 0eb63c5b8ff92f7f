import type { Backup } from '../../api/types';
import { ChevronRightIcon, DownloadIcon, FlaskIcon, RestoreIcon, TrashIcon } from '../../components/icons';
import { formatDateTime } from '../../format';
import '../../styles/backup-rows.css';
import { BackupCopyDetails } from './BackupCopyDetails';

/** A backup needs attention when it failed, or when one of its offsite copies did. */
export const hasProblem = (backup: Backup): boolean =>
  backup.status === 'failed' || backup.copies.some((c) => c.status === 'failed');

const isMoving = (backup: Pick<Backup, 'status'>): boolean =>
  backup.status === 'pending' || backup.status === 'running';

/** Under a backup that is fine here: which of its offsite copies failed, and why on hover. */
export function CopyProblem({ backup }: { backup: Backup }) {
  if (backup.status === 'failed') return null;
  const failed = backup.copies.filter((c) => c.status === 'failed');
  if (failed.length === 0) return null;
  const text = `Copy to ${failed.map((c) => c.destinationName).join(', ')} failed`;
  return (
    <span className="status-detail status-detail-error" title={failed[0]?.error ?? text} data-testid="copy-problem">
      {text}
    </span>
  );
}

/**
 * Download, test-restore, restore and delete: the buttons at the end of a backup's row, each with
 * its word beside its icon (an icon alone left people guessing) and what it does on hover.
 */
export function BackupActions({
  backup,
  onRestore,
  onDelete,
  onVerify,
  onDownloadDump,
}: {
  backup: Backup;
  onRestore(backup: Backup): void;
  onDelete(backup: Backup): void;
  onVerify?(backup: Backup): void;
  onDownloadDump?(backup: Backup): void;
}) {
  const completed = backup.status === 'completed';
  const offsite = backup.localStatus === 'deleted';
  return (
    <span className="row-actions row-actions-labeled">
      {completed ? (
        <a
          className="row-action"
          href={`/api/v1/backups/${backup.id}/download`}
          download={backup.downloadName}
          title={offsite ? `Download ${backup.downloadName} from its offsite copy` : `Download ${backup.downloadName}`}
        >
          <DownloadIcon width={14} height={14} aria-hidden="true" />
          Download
        </a>
      ) : null}
      {completed && onDownloadDump && backup.kind !== 'filestore' ? (
        <button
          type="button"
          className="row-action"
          aria-label="Download .dump"
          title="Download its database as a PostgreSQL custom-format .dump, without filestore (Odoo's database manager restores it); prepared first on the server if needed"
          onClick={() => onDownloadDump(backup)}
        >
          <DownloadIcon width={14} height={14} aria-hidden="true" />
          .dump
        </button>
      ) : null}
      {completed && onVerify && backup.kind !== 'filestore' ? (
        <button
          type="button"
          className="row-action"
          title="Load it into a throwaway database and check Odoo’s modules; the instance is not touched"
          onClick={() => onVerify(backup)}
        >
          <FlaskIcon width={14} height={14} aria-hidden="true" />
          Test restore
        </button>
      ) : null}
      {completed ? (
        <button
          type="button"
          className="row-action"
          title={offsite ? 'Restore this backup (from its offsite copy)' : 'Restore this backup'}
          onClick={() => onRestore(backup)}
        >
          <RestoreIcon width={14} height={14} aria-hidden="true" />
          Restore
        </button>
      ) : null}
      <button
        type="button"
        className="row-action row-action-danger"
        title={
          backup.pinned
            ? 'Pinned: unpin it before deleting it'
            : isMoving(backup)
              ? 'Being written'
              : 'Delete this backup'
        }
        disabled={backup.pinned || isMoving(backup)}
        onClick={() => onDelete(backup)}
      >
        <TrashIcon width={14} height={14} aria-hidden="true" />
        Delete
      </button>
    </span>
  );
}

/** The chevron that opens a row's details. */
export function DetailsToggle({ open, onToggle }: { open: boolean; onToggle(): void }) {
  const label = open ? 'Hide details' : 'Show details';
  return (
    <button
      type="button"
      className={`icon-button icon-button-small chevron${open ? ' chevron-open' : ''}`}
      aria-expanded={open}
      aria-label={label}
      title={`${label}: each offsite copy, its attempts and errors, the job log`}
      onClick={onToggle}
    >
      <ChevronRightIcon width={14} height={14} />
    </button>
  );
}

/** Under an opened row: why it failed, each offsite copy's outcome, and the job's log. */
export function BackupDetails({ backup }: { backup: Backup }) {
  return (
    <BackupCopyDetails backup={backup}>
      By {backup.createdBy}
      {backup.completedAt ? ` · finished ${formatDateTime(backup.completedAt)}` : ''}
    </BackupCopyDetails>
  );
}
