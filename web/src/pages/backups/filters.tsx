import { useId } from 'react';
import { type Backup, type BackupTrigger, backupTriggers } from '../../api/types';
import { triggerLabel } from './parts';
import { hasProblem } from './row-parts';

const ranges = [
  { id: '', label: 'All time', days: 0 },
  { id: '1d', label: 'Last 24 hours', days: 1 },
  { id: '7d', label: 'Last 7 days', days: 7 },
  { id: '30d', label: 'Last 30 days', days: 30 },
  { id: '90d', label: 'Last 90 days', days: 90 },
] as const;

const statuses = [
  { id: '', label: 'All' },
  { id: 'problem', label: 'Problems only' },
  { id: 'completed', label: 'Completed' },
  { id: 'failed', label: 'Failed' },
  { id: 'running', label: 'Running' },
  { id: 'pending', label: 'Pending' },
] as const;

export interface BackupFilterValue {
  status: (typeof statuses)[number]['id'];
  trigger: BackupTrigger | '';
  range: (typeof ranges)[number]['id'];
}

export const noFilters: BackupFilterValue = { status: '', trigger: '', range: '' };

export const isFiltered = (f: BackupFilterValue): boolean => f.status !== '' || f.trigger !== '' || f.range !== '';

/** Where the time filter starts, in epoch milliseconds; 0 for "All time". */
export function filterSince(range: BackupFilterValue['range'], now: number): number {
  const days = ranges.find((r) => r.id === range)?.days ?? 0;
  return days ? now - days * 86_400_000 : 0;
}

/** The backups the filters keep: "problems" are failed backups and backups with a failed copy. */
export function applyFilters(backups: readonly Backup[], f: BackupFilterValue, now = Date.now()): Backup[] {
  const since = filterSince(f.range, now);
  return backups.filter(
    (b) =>
      (f.status === '' || (f.status === 'problem' ? hasProblem(b) : b.status === f.status)) &&
      (f.trigger === '' || b.trigger === f.trigger) &&
      (!since || new Date(b.createdAt).getTime() >= since),
  );
}

/**
 * Status (with "problems only"), trigger and time: above the instance's one table of backups, and
 * above the history of backup runs (`label` "History filters").
 */
export function BackupFilters({
  value,
  onChange,
  label = 'Backup filters',
}: {
  value: BackupFilterValue;
  onChange(value: BackupFilterValue): void;
  /** The form's accessible name. */
  label?: string;
}) {
  const uid = useId();
  return (
    <form className="filters filters-inline" aria-label={label} onSubmit={(e) => e.preventDefault()}>
      <div className="filter">
        <label htmlFor={`${uid}-status`}>Status</label>
        <select
          id={`${uid}-status`}
          value={value.status}
          onChange={(e) => onChange({ ...value, status: e.target.value as BackupFilterValue['status'] })}
        >
          {statuses.map((s) => (
            <option key={s.id} value={s.id}>
              {s.label}
            </option>
          ))}
        </select>
      </div>
      <div className="filter">
        <label htmlFor={`${uid}-trigger`}>Trigger</label>
        <select
          id={`${uid}-trigger`}
          value={value.trigger}
          onChange={(e) => onChange({ ...value, trigger: e.target.value as BackupTrigger | '' })}
        >
          <option value="">All</option>
          {backupTriggers.map((t) => (
            <option key={t} value={t}>
              {triggerLabel[t]}
            </option>
          ))}
        </select>
      </div>
      <div className="filter">
        <label htmlFor={`${uid}-range`}>Time</label>
        <select
          id={`${uid}-range`}
          value={value.range}
          onChange={(e) => onChange({ ...value, range: e.target.value as BackupFilterValue['range'] })}
        >
          {ranges.map((r) => (
            <option key={r.id} value={r.id}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      {isFiltered(value) ? (
        <div className="filter-actions">
          <button type="button" className="btn btn-ghost" onClick={() => onChange(noFilters)}>
            Clear
          </button>
        </div>
      ) : null}
    </form>
  );
}
