import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import type { BackupCopy } from '../../api/types';
import { Badge } from '../../components/Badge';
import { DataTable } from '../../components/DataTable';
import { formatDateTime } from '../../format';
import { formatBytes } from '../../operate';
import { copyTitle } from '../offsite/parts';

const copyTone = { pending: 'gray', uploading: 'blue', verified: 'green', failed: 'red', deleted: 'gray' } as const;

/** What the details need of a backup: the instance's table and the history's runs both have it. */
interface BackupWithCopies {
  status: string;
  error: string | null;
  copies: readonly BackupCopy[];
  jobId: string | null;
}

/**
 * Under an opened backup or run: why it failed, each offsite copy's outcome, and a foot line
 * (`children`, what the table's row does not show) ending in the link to the job's log.
 */
export function BackupCopyDetails({ backup, children }: { backup: BackupWithCopies; children: ReactNode }) {
  return (
    <div className="run-details">
      {backup.status === 'failed' && backup.error ? (
        <div>
          <p className="run-details-title">The backup failed</p>
          <pre>{backup.error}</pre>
        </div>
      ) : null}
      <DataTable
        label="Copies"
        className="table-compact run-copies"
        wrap={false}
        rows={backup.copies}
        rowKey={(c) => c.destinationId}
        rowProps={(c) => ({ title: copyTitle(c) })}
        empty={<p className="muted">Kept on this server only; no offsite copies.</p>}
        columns={[
          {
            header: 'Destination',
            cell: (c) => (
              <>
                {c.destinationName} <span className="muted">{c.destinationKind.toUpperCase()}</span>
                {c.encrypted ? <span className="muted"> · encrypted</span> : null}
              </>
            ),
          },
          { header: 'Status', cell: (c) => <Badge tone={copyTone[c.status]}>{c.status}</Badge> },
          { header: 'Size', headerClassName: 'num', className: 'num tabular', cell: (c) => formatBytes(c.sizeBytes) },
          { header: 'Attempts', headerClassName: 'num', className: 'num tabular', cell: (c) => c.attempts },
          {
            header: 'Verified',
            className: 'nowrap',
            cell: (c) => (c.verifiedAt ? formatDateTime(c.verifiedAt) : '—'),
          },
          { header: 'Error', className: 'copy-error', cell: (c) => c.error ?? <span className="muted">—</span> },
        ]}
      />
      <p className="run-details-foot muted">
        {children}
        {backup.jobId ? (
          <>
            {' · '}
            <Link to={`/jobs/${backup.jobId}`}>job log</Link>
          </>
        ) : null}
      </p>
    </div>
  );
}
