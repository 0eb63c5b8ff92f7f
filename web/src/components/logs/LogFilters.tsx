import type { RefObject } from 'react';
import { SearchIcon } from '../icons';
import { levelLabels, MAX_QUERY, TAILS, type TimePreset, timePresets } from './logQuery';
import { formatCount, type LogLevel, logLevels } from './model';
import type { TimeRangeChoice } from './useTimeRange';

/** What to show: search, level, time range (preset or custom from/to) and, for the live tail, how many lines. */
export function LogFilters({
  search,
  onSearch,
  searchRef,
  level,
  onLevel,
  time,
  onPreset,
  tail,
  onTail,
}: {
  search: string;
  onSearch(search: string): void;
  searchRef: RefObject<HTMLInputElement | null>;
  level: LogLevel | '';
  onLevel(level: LogLevel | ''): void;
  time: TimeRangeChoice;
  /** Choosing the live tail also turns the stream back on, which the viewer owns. */
  onPreset(id: TimePreset): void;
  tail: number;
  onTail(tail: number): void;
}) {
  return (
    <>
      <label className="log-search">
        <SearchIcon width={15} height={15} />
        <span className="visually-hidden">Search the log</span>
        <input
          ref={searchRef}
          type="search"
          value={search}
          maxLength={MAX_QUERY}
          placeholder="Search…"
          aria-keyshortcuts="/"
          onChange={(e) => onSearch(e.target.value)}
        />
        {search ? null : (
          <span className="log-kbd" aria-hidden="true">
            /
          </span>
        )}
      </label>
      <label className="log-field">
        <span className="visually-hidden">Level</span>
        <select value={level} onChange={(e) => onLevel(e.target.value as LogLevel | '')}>
          <option value="">All levels</option>
          {logLevels.map((l) => (
            <option key={l} value={l}>
              {levelLabels[l]}
            </option>
          ))}
        </select>
      </label>
      <label className="log-field">
        <span className="visually-hidden">Time range</span>
        <select value={time.preset} onChange={(e) => onPreset(e.target.value as TimePreset)}>
          {timePresets.map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
        </select>
      </label>
      {time.preset === 'custom' ? (
        <>
          <label className="log-field log-field-date">
            <span>From</span>
            <input
              type="datetime-local"
              value={time.customFrom}
              onChange={(e) => time.changeCustom(e.target.value, time.customTo)}
            />
          </label>
          <label className="log-field log-field-date">
            <span>To</span>
            <input
              type="datetime-local"
              value={time.customTo}
              onChange={(e) => time.changeCustom(time.customFrom, e.target.value)}
            />
          </label>
        </>
      ) : (
        <label className="log-field">
          <span className="visually-hidden">Lines to load</span>
          <select value={tail} onChange={(e) => onTail(Number(e.target.value))} disabled={time.range !== null}>
            {TAILS.map((n) => (
              <option key={n} value={n}>
                Last {formatCount(n)} lines
              </option>
            ))}
          </select>
        </label>
      )}
    </>
  );
}
