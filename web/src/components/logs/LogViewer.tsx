import { type ReactNode, useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { ArrowDownIcon, PlayIcon } from '../icons';
import type { Connection } from './ConnectionIndicator';
import { LogActionBar } from './LogActionBar';
import { LogFilters } from './LogFilters';
import { LogList } from './LogList';
import { type LogTab, LogViewTabs } from './LogViewTabs';
import { RANGE_TAIL, searchText, type TimePreset } from './logQuery';
import { formatCount, type LogLevel, type LogSource, MAX_ENTRIES, queryString, searchPattern } from './model';
import { RequestsView } from './RequestsView';
import { useDebounced } from './useDebounced';
import { useLogShortcuts } from './useLogShortcuts';
import { useLogStream } from './useLogStream';
import { useTimeRange } from './useTimeRange';

const SEARCH_DEBOUNCE_MS = 250;

export interface LogViewerProps {
  source: LogSource;
  /**
   * `page`: fills its box and answers keyboard shortcuts anywhere on the page. `embedded`: a
   * fixed height inside another page, shortcuts only while focus is inside the viewer.
   */
  variant?: 'page' | 'embedded';
}

/** What the list says when it has no line to show, and why. */
function emptyMessage({
  loading,
  failed,
  filtered,
  ranged,
  streaming,
}: {
  loading: boolean;
  failed: boolean;
  filtered: boolean;
  ranged: boolean;
  streaming: boolean;
}): ReactNode {
  if (loading) return <span>Loading the log…</span>;
  if (failed) return <span>Nothing to show.</span>;
  if (filtered) {
    return (
      <>
        <strong>No entries match.</strong>
        <span>Try another search or a lower level.</span>
      </>
    );
  }
  if (ranged) return <strong>Nothing was logged in this time range.</strong>;
  return (
    <>
      <strong>No log lines yet.</strong>
      <span>{streaming ? 'They appear here as they are written.' : 'Turn Stream on to follow the log.'}</span>
    </>
  );
}

/**
 * A live, searchable log: dark terminal look, levels in colour, werkzeug requests compact,
 * tracebacks folded, virtualized so 100 000 lines scroll smoothly, and a Requests tab built from
 * the werkzeug lines in the buffer.
 */
export function LogViewer({ source, variant = 'page' }: LogViewerProps) {
  const [tab, setTab] = useState<LogTab>('log');
  const [search, setSearch] = useState('');
  const q = useDebounced(searchText(search), SEARCH_DEBOUNCE_MS);
  const [level, setLevel] = useState<LogLevel | ''>('');
  const time = useTimeRange();
  const range = time.range;
  const [tail, setTail] = useState(500);
  const [follow, setFollow] = useState(true);
  const [paused, setPaused] = useState(false);
  const [autoScroll, setAutoScroll] = useState(true);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const [helpOpen, setHelpOpen] = useState(false);
  const [unseenFrom, setUnseenFrom] = useState<number | null>(null);
  const rootRef = useRef<HTMLElement | null>(null);
  const searchRef = useRef<HTMLInputElement | null>(null);
  const viewportRef = useRef<HTMLDivElement | null>(null);
  const ids = useId();

  const filter = useMemo(() => ({ level, q }), [level, q]);
  const streaming = follow && range === null;
  const log = useLogStream({
    source,
    filter,
    tail: range ? RANGE_TAIL : tail,
    streaming,
    range,
    paused: paused && streaming,
  });
  // Requests are INFO lines: a level filter would hide them all, so with one set the Requests tab
  // reads its own buffer of every level (the search still applies).
  const requestFilter = useMemo(() => ({ level: '' as const, q }), [q]);
  const separateRequests = Boolean(source.requests && level);
  const requestLog = useLogStream({
    source,
    filter: requestFilter,
    tail: range ? RANGE_TAIL : tail,
    streaming,
    range,
    paused: false,
    enabled: separateRequests,
  });
  const requestEntries = separateRequests ? requestLog.entries : log.entries;
  const pattern = useMemo(() => searchPattern(q), [q]);
  const requestCount = useMemo(() => requestEntries.reduce((n, e) => (e.http ? n + 1 : n), 0), [requestEntries]);

  // A new buffer (filter, refresh, clear) starts with everything folded.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the epoch is what says the buffer started over.
  useEffect(() => {
    setExpanded(new Set());
    setUnseenFrom(null);
  }, [log.epoch]);

  const changeAutoScroll = useCallback(
    (on: boolean) => {
      setAutoScroll(on);
      setUnseenFrom(on ? null : log.received);
    },
    [log.received],
  );

  // Stable, so rows that did not change are not drawn again.
  const folding = useRef({ expanded, autoScroll, changeAutoScroll });
  folding.current = { expanded, autoScroll, changeAutoScroll };
  const toggle = useCallback((id: string) => {
    const { expanded: open, autoScroll: following, changeAutoScroll: follow } = folding.current;
    const next = new Set(open);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setExpanded(next);
    // Reading a traceback: new lines must not push it away.
    if (next.has(id) && following) follow(false);
  }, []);

  const { choosePreset: chooseTime } = time;
  // Back to the live tail means following the log again.
  const choosePreset = useCallback(
    (id: TimePreset) => {
      chooseTime(id);
      if (id === 'live') setFollow(true);
    },
    [chooseTime],
  );

  const toggleStream = useCallback(() => {
    if (range) choosePreset('live');
    else setFollow((f) => !f);
  }, [range, choosePreset]);

  // New results are what was asked for: show them, even when paused.
  // biome-ignore lint/correctness/useExhaustiveDependencies: these are the questions whose answers must show.
  useEffect(() => setPaused(false), [q, level, range, tail, follow]);

  const { clear: clearLog, refresh: reload } = log;
  const { clear: clearRequests, refresh: reloadRequests } = requestLog;
  const clear = useCallback(() => {
    clearLog();
    clearRequests();
  }, [clearLog, clearRequests]);
  const refresh = useCallback(() => {
    setPaused(false);
    reload();
    reloadRequests();
  }, [reload, reloadRequests]);

  useLogShortcuts({
    variant,
    rootRef,
    searchRef,
    actions: {
      refresh,
      toggleStream,
      togglePause: () => setPaused((p) => !p),
      toggleAutoScroll: () => changeAutoScroll(!autoScroll),
      clear,
      toggleHelp: () => setHelpOpen((open) => !open),
      closeHelp: () => setHelpOpen(false),
    },
  });

  const panelRole = source.requests ? { role: 'tabpanel', 'aria-labelledby': `${ids}-tab-${tab}` } : {};
  const connection: Connection = streaming && paused ? 'paused' : log.state;
  const since = range?.since ?? null;
  const until = range?.until ?? null;
  const download = (format: 'text' | 'jsonl') => `${source.base}/download${queryString({ since, until, format })}`;
  const unseen = !paused && !autoScroll && unseenFrom !== null ? Math.max(0, log.received - unseenFrom) : 0;
  const empty = emptyMessage({
    loading: log.loading,
    failed: Boolean(log.error),
    filtered: Boolean(q || level),
    ranged: range !== null,
    streaming,
  });

  return (
    <section
      ref={rootRef}
      className={`log-viewer log-viewer-${variant}`}
      aria-label={`${source.name} log`}
      data-testid="log-viewer"
    >
      <div className="log-toolbar">
        {source.requests ? (
          <LogViewTabs tab={tab} onChange={setTab} idPrefix={ids} requestCount={requestCount} />
        ) : null}
        <LogFilters
          search={search}
          onSearch={setSearch}
          searchRef={searchRef}
          level={level}
          onLevel={setLevel}
          time={time}
          onPreset={choosePreset}
          tail={tail}
          onTail={setTail}
        />
      </div>
      <LogActionBar
        streaming={streaming}
        paused={paused}
        onTogglePause={() => setPaused((p) => !p)}
        autoScroll={autoScroll}
        onAutoScroll={changeAutoScroll}
        onToggleStream={toggleStream}
        onRefresh={refresh}
        onClear={clear}
        container={log.container}
        connection={connection}
        lineCount={log.view.length}
        ranged={range !== null}
        downloadHref={download}
        helpId={`${ids}-help`}
        helpOpen={helpOpen}
        onToggleHelp={() => setHelpOpen((open) => !open)}
        variant={variant}
      />
      {log.error ? (
        <div className="log-viewer-error" role="alert">
          {log.error}
        </div>
      ) : null}
      <div className="log-panel" id={`${ids}-panel`} {...panelRole}>
        {tab === 'log' ? (
          <>
            <LogList
              entries={log.view}
              expanded={expanded}
              onToggle={toggle}
              pattern={pattern}
              databases={source.databases}
              autoScroll={autoScroll}
              onAutoScroll={changeAutoScroll}
              label={`${source.name} log entries`}
              viewportRef={viewportRef}
              empty={empty}
            />
            {paused && streaming && log.newWhilePaused > 0 ? (
              <button type="button" className="log-new" onClick={() => setPaused(false)} data-testid="log-new-lines">
                <PlayIcon width={14} height={14} />
                {formatCount(log.newWhilePaused)} new line{log.newWhilePaused === 1 ? '' : 's'} · Resume
              </button>
            ) : unseen > 0 ? (
              <button
                type="button"
                className="log-new"
                onClick={() => changeAutoScroll(true)}
                data-testid="log-new-lines"
              >
                <ArrowDownIcon width={14} height={14} />
                {formatCount(unseen)} new line{unseen === 1 ? '' : 's'}
              </button>
            ) : null}
          </>
        ) : (
          <RequestsView entries={requestEntries} />
        )}
      </div>
      {log.entries.length >= MAX_ENTRIES ? (
        <p className="log-footnote">Only the newest {formatCount(MAX_ENTRIES)} entries are kept in the browser.</p>
      ) : null}
    </section>
  );
}
