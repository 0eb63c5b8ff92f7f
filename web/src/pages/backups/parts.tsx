import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import type { Backup, BackupFormat, BackupKind, BackupTrigger, DatabaseInfo, Instance } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import {
  CheckIcon,
  CopyIcon,
  DatabaseIcon,
  DownloadIcon,
  FlaskIcon,
  RestoreIcon,
  TrashIcon,
} from '../../components/icons';
import { ProgressBar } from '../../components/ProgressBar';
import { BackupStatusBadge, InstanceStatusBadge, StageBadge } from '../../components/StatusBadges';
import { formatDate, formatDateTime, formatRelative, formatShortTime } from '../../format';
import { useJobStream, useNow } from '../../live';
import { formatBytes, isJobFinished } from '../../operate';
import { useLoader } from '../../useLoader';
import { StoredCell, VerificationNote } from '../offsite/parts';

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
}: {
  backups: Backup[];
  label: string;
  showInstance?: boolean;
  canManage(backup: Backup): boolean;
  onPin(backup: Backup, pinned: boolean): Promise<void>;
  onRestore(backup: Backup): void;
  onDelete(backup: Backup): void;
  onJobEnded(): void;
  /** "Test restore": loads the backup into a throwaway database. */
  onVerify?(backup: Backup): void;
}) {
  const now = useNow(30_000);
  return (
    <div className="table-wrap">
      <table className="table table-compact backups-table" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Created</th>
            {showInstance ? <th scope="col">Instance</th> : null}
            <th scope="col" title="What it holds, and its format">
              Kind
            </th>
            <th scope="col" className="num">
              Size · SHA-256
            </th>
            <th scope="col">Stored</th>
            <th scope="col">Trigger</th>
            <th scope="col">Status</th>
            <th scope="col">Pinned</th>
            <th scope="col" className="actions">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {backups.map((backup) => {
            const manage = canManage(backup);
            const completed = backup.status === 'completed';
            return (
              <tr
                key={backup.id}
                data-backup-id={backup.id}
                data-status={backup.status}
                data-format={backup.format}
                data-pinned={backup.pinned}
              >
                <td className="nowrap">
                  <span
                    className="stacked-time"
                    title={`${formatRelative(backup.createdAt, new Date(now))}, by ${backup.createdBy}`}
                  >
                    <span>{formatDate(backup.createdAt)}</span>
                    <span className="muted">{formatShortTime(backup.createdAt)}</span>
                  </span>
                </td>
                {showInstance ? (
                  <td className="nowrap">
                    {backup.instanceId ? (
                      <Link className="row-title mono" to={`/instances/${backup.instanceId}?tab=backups`}>
                        {backup.instanceLabel}
                      </Link>
                    ) : (
                      <span className="stacked-time">
                        <span className="mono">{backup.instanceLabel}</span>
                        <span className="muted">instance deleted</span>
                      </span>
                    )}
                  </td>
                ) : null}
                <td>
                  <span className="kind-cell">
                    <span title={kindHint[backup.kind]}>{kindLabel[backup.kind]}</span>
                    <span className={`format-tag format-${backup.format}`}>{formatLabel[backup.format]}</span>
                  </span>
                </td>
                <td className="num nowrap">
                  <span className="size-cell">
                    <span className="tabular">{formatBytes(backup.sizeBytes)}</span>
                    <Checksum sha256={backup.sha256} />
                  </span>
                </td>
                <td className="stored-td">
                  <StoredCell backup={backup} />
                </td>
                <td className="trigger-cell">{triggerLabel[backup.trigger]}</td>
                <td>
                  <span className="status-cell">
                    <BackupStatusBadge backup={backup} />
                    {isBackupMoving(backup) && backup.jobId ? (
                      <RowProgress jobId={backup.jobId} onEnded={onJobEnded} />
                    ) : null}
                    {backup.status === 'failed' && backup.error ? (
                      <span className="status-detail status-detail-error" title={backup.error}>
                        {backup.error}
                      </span>
                    ) : null}
                    <VerificationNote backup={backup} />
                  </span>
                </td>
                <td>
                  <PinToggle backup={backup} disabled={!manage} onChange={(pinned) => onPin(backup, pinned)} />
                </td>
                <td className="actions">
                  {manage ? (
                    <span className="row-actions">
                      {completed ? (
                        <a
                          className="icon-button icon-button-link"
                          href={`/api/v1/backups/${backup.id}/download`}
                          download={backup.downloadName}
                          aria-label="Download"
                          title={
                            backup.localStatus === 'deleted'
                              ? `Download ${backup.downloadName} from its offsite copy`
                              : `Download ${backup.downloadName}`
                          }
                        >
                          <DownloadIcon width={16} height={16} />
                        </a>
                      ) : null}
                      {completed && onVerify && backup.kind !== 'filestore' ? (
                        <button
                          type="button"
                          className="icon-button icon-button-link"
                          aria-label="Verify backup"
                          title="Test restore: load it into a throwaway database and check Odoo’s modules"
                          onClick={() => onVerify(backup)}
                        >
                          <FlaskIcon width={16} height={16} />
                        </button>
                      ) : null}
                      {completed ? (
                        <button
                          type="button"
                          className="icon-button icon-button-link"
                          aria-label="Restore"
                          title={
                            backup.localStatus === 'deleted'
                              ? 'Restore this backup (from its offsite copy)'
                              : 'Restore this backup'
                          }
                          onClick={() => onRestore(backup)}
                        >
                          <RestoreIcon width={16} height={16} />
                        </button>
                      ) : null}
                      <button
                        type="button"
                        className="icon-button icon-button-danger"
                        aria-label="Delete backup"
                        title={
                          backup.pinned
                            ? 'Pinned: unpin it before deleting it'
                            : isBackupMoving(backup)
                              ? 'Being written'
                              : 'Delete this backup'
                        }
                        disabled={backup.pinned || isBackupMoving(backup)}
                        onClick={() => onDelete(backup)}
                      >
                        <TrashIcon width={16} height={16} />
                      </button>
                    </span>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function useWidth(): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [width, setWidth] = useState(720);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    setWidth(element.clientWidth);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

const units = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Round steps (1, 2, 5 × 10ⁿ) in the unit that suits the largest size. */
function sizeTicks(max: number): { ticks: number[]; label(value: number): string } {
  const unit = Math.min(units.length - 1, Math.max(0, Math.floor(Math.log(Math.max(1, max)) / Math.log(1024))));
  const scale = 1024 ** unit;
  const top = max / scale;
  const raw = top / 3;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const norm = raw / magnitude;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step * 0.999; v += step) ticks.push(v * scale);
  return {
    ticks: ticks.length > 1 ? ticks : [0, step * scale],
    label: (value) => (value === 0 ? '0' : `${Number((value / scale).toFixed(2))} ${units[unit]}`),
  };
}

const CHART_HEIGHT = 170;
const M = { top: 14, right: 12, bottom: 28, left: 64 };
const MAX_BARS = 40;

/** Sizes of the completed backups over time, oldest on the left, coloured by format. */
export function SizeChart({ backups }: { backups: Backup[] }) {
  const [wrapRef, width] = useWidth();
  const titleId = useId();
  const points = backups
    .filter((b) => b.status === 'completed' && b.sizeBytes !== null)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .slice(-MAX_BARS);
  if (points.length === 0) return null;
  const plotW = Math.max(100, width - M.left - M.right);
  const plotH = CHART_HEIGHT - M.top - M.bottom;
  const { ticks, label } = sizeTicks(Math.max(...points.map((p) => p.sizeBytes ?? 0)));
  const top = ticks.at(-1) ?? 1;
  const band = plotW / Math.max(points.length, 12);
  const barW = Math.max(3, Math.min(36, band * 0.64));
  const x = (i: number) => M.left + i * band + band / 2;
  const y = (v: number) => M.top + plotH - (v / top) * plotH;
  // Labels anchored on the newest bar, far enough apart not to overlap; times when all are of one day.
  const oneDay = new Set(points.map((p) => formatDate(p.createdAt))).size === 1;
  const labelEvery = Math.max(1, Math.ceil((oneDay ? 70 : 96) / band));
  const total = points.reduce((sum, p) => sum + (p.sizeBytes ?? 0), 0);
  const formats = new Set(points.map((p) => p.format));

  return (
    <div className="size-chart" ref={wrapRef}>
      <div className="size-chart-head">
        <span className="muted">
          {points.length} completed backup{points.length === 1 ? '' : 's'} · {formatBytes(total)} in all
        </span>
        <span className="size-legend" aria-hidden="true">
          {[...formats].sort().map((format) => (
            <span key={format}>
              <span className={`size-swatch size-bar-${format}`} /> {formatLabel[format]}
            </span>
          ))}
        </span>
      </div>
      <svg width={width} height={CHART_HEIGHT} role="img" aria-labelledby={titleId} data-testid="backup-size-chart">
        <title id={titleId}>
          Backup sizes over time: {points.length} backups, the largest {formatBytes(top)} at most.
        </title>
        {ticks.map((tick) => (
          <g key={tick}>
            <line className="size-grid" x1={M.left} x2={M.left + plotW} y1={y(tick)} y2={y(tick)} />
            <text className="size-axis-label" x={M.left - 8} y={y(tick)} textAnchor="end" dominantBaseline="middle">
              {label(tick)}
            </text>
          </g>
        ))}
        {points.map((p, i) => (
          <rect
            key={p.id}
            className={`size-bar size-bar-${p.format}`}
            x={x(i) - barW / 2}
            y={y(p.sizeBytes ?? 0)}
            width={barW}
            height={Math.max(1.5, M.top + plotH - y(p.sizeBytes ?? 0))}
            rx={Math.min(3, barW / 4)}
          >
            <title>
              {formatDateTime(p.createdAt)}: {formatBytes(p.sizeBytes)} — {formatLabel[p.format]},{' '}
              {kindLabel[p.kind].toLowerCase()}, {triggerLabel[p.trigger].toLowerCase()}
            </title>
          </rect>
        ))}
        <line className="size-axis" x1={M.left} x2={M.left + plotW} y1={M.top + plotH} y2={M.top + plotH} />
        {points.map((p, i) =>
          (points.length - 1 - i) % labelEvery === 0 ? (
            <text key={p.id} className="size-axis-label" x={x(i)} y={M.top + plotH + 18} textAnchor="middle">
              {oneDay ? formatShortTime(p.createdAt) : formatDate(p.createdAt)}
            </text>
          ) : null,
        )}
      </svg>
    </div>
  );
}

export function useDatabaseInfo(instanceId: string | null) {
  return useLoader(
    async () =>
      instanceId
        ? (await call(api.GET('/api/v1/instances/{id}/database', { params: { path: { id: instanceId } } }))).database
        : null,
    `database:${instanceId ?? ''}`,
  );
}

function InfoStat({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="db-stat">
      <span className="stat-label">{label}</span>
      <span className="db-stat-value tabular">{children}</span>
    </div>
  );
}

/** An instance's database at a glance: size, tables, filestore, last backup. */
export function DatabaseCard({
  side,
  instance,
  info,
  error,
  placeholder,
}: {
  side: string;
  instance: Instance | null;
  info: DatabaseInfo | null | undefined;
  error?: unknown;
  /** Shown instead of numbers, e.g. for an instance that does not exist yet. */
  placeholder?: ReactNode;
}) {
  const now = useNow(30_000);
  const last = info?.lastBackup;
  return (
    <section className="card db-card" data-testid="database-card" aria-label={`${side} database`}>
      <header className="db-card-head">
        <span className="db-card-icon" aria-hidden="true">
          <DatabaseIcon />
        </span>
        <div className="db-card-title">
          <span className="stat-label">{side}</span>
          {instance ? (
            <span className="db-card-name">
              <Link to={`/instances/${instance.id}`} className="mono">
                {instance.name}
              </Link>
              <StageBadge stage={instance.stage} />
              <InstanceStatusBadge instance={instance} />
            </span>
          ) : (
            <span className="db-card-name muted">{placeholder ? 'New instance' : 'Choose an instance'}</span>
          )}
        </div>
      </header>
      {error ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
      {placeholder ? (
        <p className="db-card-placeholder">{placeholder}</p>
      ) : instance && info === undefined && !error ? (
        <Loading />
      ) : info ? (
        <div className="db-stats">
          <InfoStat label="Database">{formatBytes(info.sizeBytes)}</InfoStat>
          <InfoStat label="Tables">{info.tables ?? '—'}</InfoStat>
          <InfoStat label="Filestore">{formatBytes(info.filestoreBytes)}</InfoStat>
          <InfoStat label="Last backup">
            {last ? (
              <span title={formatDateTime(last.createdAt)}>
                {formatRelative(last.createdAt, new Date(now))}
                <span className="db-stat-note">
                  {formatLabel[last.format]} · {formatBytes(last.sizeBytes)}
                </span>
              </span>
            ) : (
              <span className="db-stat-warn">never</span>
            )}
          </InfoStat>
        </div>
      ) : null}
    </section>
  );
}
