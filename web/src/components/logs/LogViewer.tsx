import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import {
  ArrowDownIcon,
  ChartIcon,
  DownloadIcon,
  EraserIcon,
  PauseIcon,
  PlayIcon,
  RadioIcon,
  RefreshIcon,
  SearchIcon,
  TerminalIcon,
} from '../icons';
import { LogList } from './LogList';
import {
  formatCount,
  type LogLevel,
  type LogSource,
  logLevels,
  MAX_ENTRIES,
  queryString,
  searchPattern,
} from './model';
import { RequestsView } from './RequestsView';
import { type LogRange, type StreamState, useLogStream } from './useLogStream';

const SEARCH_DEBOUNCE_MS = 250;
const MAX_QUERY = 200;
const TAILS = [200, 500, 1000, 5000, 10_000];
const RANGE_TAIL = 10_000;

const presets = [
  { id: 'live', label: 'Live tail', minutes: 0 },
  { id: '15m', label: 'Last 15 minutes', minutes: 15 },
  { id: '1h', label: 'Last hour', minutes: 60 },
  { id: '6h', label: 'Last 6 hours', minutes: 360 },
  { id: '24h', label: 'Last 24 hours', minutes: 1440 },
  { id: '7d', label: 'Last 7 days', minutes: 10_080 },
  { id: 'custom', label: 'Custom range…', minutes: 0 },
] as const;
type Preset = (typeof presets)[number]['id'];

const levelLabels: Record<LogLevel, string> = {
  DEBUG: 'DEBUG and above',
  INFO: 'INFO and above',
  WARNING: 'WARNING and above',
  ERROR: 'ERROR and above',
  CRITICAL: 'CRITICAL only',
};

const shortcuts: [string, string][] = [
  ['R', 'Reload the log'],
  ['S', 'Stream on / off'],
  ['P', 'Pause / resume'],
  ['A', 'Auto-scroll on / off'],
  ['C', 'Clear the view'],
  ['/', 'Search'],
  ['?', 'These shortcuts'],
];

/** "2026-11-21T09:30" (an <input type="datetime-local">) → ISO, or null. */
function localToIso(value: string): string | null {
  if (!value) return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString();
}

/** What the API accepts as `q`: no control characters (a pasted tab), at most MAX_QUERY characters. */
function searchText(typed: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
  const controls = /[\x00-\x1f\x7f]+/g;
  return typed.replace(controls, ' ').trim().slice(0, MAX_QUERY);
}

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

type Connection = StreamState | 'paused';

const connectionLook: Record<Connection, { text: string; title: string }> = {
  connecting: { text: 'Connecting…', title: 'Opening the live stream' },
  live: { text: 'Live', title: 'New lines appear as Odoo writes them' },
  reconnecting: { text: 'Reconnecting…', title: 'The stream was interrupted; reconnecting' },
  paused: { text: 'Paused', title: 'New lines are kept but not shown; resume to see them' },
  off: { text: 'Disconnected', title: 'Not following the log; turn Stream on (S) to follow it' },
};

function ConnectionIndicator({ state }: { state: Connection }) {
  const look = connectionLook[state];
  return (
    <span className={`log-conn log-conn-${state}`} role="status" title={look.title} data-testid="log-connection">
      <span className="log-conn-dot" aria-hidden="true" />
      {look.text}
    </span>
  );
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable;
}

export interface LogViewerProps {
  source: LogSource;
  /**
   * `page`: fills its box and answers keyboard shortcuts anywhere on the page. `embedded`: a
   * fixed height inside another page, shortcuts only while focus is inside the viewer.
   */
  variant?: 'page' | 'embedded';
}

/**
 * A live, searchable log: dark terminal look, levels in colour, werkzeug requests compact,
 * tracebacks folded, virtualized so 100 000 lines scroll smoothly, and a Requests tab built from
 * the werkzeug lines in the buffer.
 */
export function LogViewer({ source, variant = 'page' }: LogViewerProps) {
  const [tab, setTab] = useState<'log' | 'requests'>('log');
  const [search, setSearch] = useState('');
  const q = useDebounced(searchText(search), SEARCH_DEBOUNCE_MS);
  const [level, setLevel] = useState<LogLevel | ''>('');
  const [preset, setPreset] = useState<Preset>('live');
  const [range, setRange] = useState<LogRange | null>(null);
  const [customFrom, setCustomFrom] = useState('');
  const [customTo, setCustomTo] = useState('');
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
  const pattern = useMemo(() => searchPattern(q), [q]);
  const requestCount = useMemo(() => log.entries.reduce((n, e) => (e.http ? n + 1 : n), 0), [log.entries]);

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

  const toggleStream = useCallback(() => {
    if (range) {
      setRange(null);
      setPreset('live');
      setFollow(true);
    } else {
      setFollow((f) => !f);
    }
  }, [range]);

  function choosePreset(id: Preset) {
    setPreset(id);
    if (id === 'live') {
      setRange(null);
      setFollow(true);
      return;
    }
    if (id === 'custom') {
      const now = new Date();
      const hourAgo = new Date(now.getTime() - 3_600_000);
      const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      setCustomFrom(local(hourAgo));
      setCustomTo('');
      setRange({ since: hourAgo.toISOString(), until: null });
      return;
    }
    const minutes = presets.find((p) => p.id === id)?.minutes ?? 60;
    setRange({ since: new Date(Date.now() - minutes * 60_000).toISOString(), until: null });
  }

  function changeCustom(from: string, to: string) {
    setCustomFrom(from);
    setCustomTo(to);
    setRange({ since: localToIso(from), until: localToIso(to) });
  }

  // New results are what was asked for: show them, even when paused.
  // biome-ignore lint/correctness/useExhaustiveDependencies: these are the questions whose answers must show.
  useEffect(() => setPaused(false), [q, level, range, tail, follow]);

  const clear = log.clear;
  const reload = log.refresh;
  const refresh = useCallback(() => {
    setPaused(false);
    reload();
  }, [reload]);
  const actions = useRef({ refresh, toggleStream, clear, changeAutoScroll, autoScroll });
  actions.current = { refresh, toggleStream, clear, changeAutoScroll, autoScroll };

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      if (isTyping(event.target)) {
        if (event.key === 'Escape' && event.target === searchRef.current) searchRef.current?.blur();
        return;
      }
      if (variant === 'embedded' && !rootRef.current?.contains(document.activeElement)) return;
      const a = actions.current;
      switch (event.key.toLowerCase()) {
        case 'r':
          a.refresh();
          break;
        case 's':
          a.toggleStream();
          break;
        case 'p':
          setPaused((p) => !p);
          break;
        case 'a':
          a.changeAutoScroll(!a.autoScroll);
          break;
        case 'c':
          a.clear();
          break;
        case '/':
          searchRef.current?.focus();
          searchRef.current?.select();
          break;
        case '?':
          setHelpOpen((open) => !open);
          break;
        case 'escape':
          setHelpOpen(false);
          return;
        default:
          return;
      }
      event.preventDefault();
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [variant]);

  const panelRole = source.requests ? { role: 'tabpanel', 'aria-labelledby': `${ids}-tab-${tab}` } : {};
  const connection: Connection = streaming && paused ? 'paused' : log.state;
  const since = range?.since ?? null;
  const until = range?.until ?? null;
  const download = (format: 'text' | 'jsonl') => `${source.base}/download${queryString({ since, until, format })}`;
  const unseen = !paused && !autoScroll && unseenFrom !== null ? Math.max(0, log.received - unseenFrom) : 0;
  const filtered = Boolean(q || level);
  const empty = log.loading ? (
    <span>Loading the log…</span>
  ) : log.error ? (
    <span>Nothing to show.</span>
  ) : filtered ? (
    <>
      <strong>No entries match.</strong>
      <span>Try another search or a lower level.</span>
    </>
  ) : range ? (
    <strong>Nothing was logged in this time range.</strong>
  ) : (
    <>
      <strong>No log lines yet.</strong>
      <span>{streaming ? 'They appear here as they are written.' : 'Turn Stream on to follow the log.'}</span>
    </>
  );

  return (
    <section
      ref={rootRef}
      className={`log-viewer log-viewer-${variant}`}
      aria-label={`${source.name} log`}
      data-testid="log-viewer"
    >
      <div className="log-toolbar">
        {source.requests ? (
          <div className="log-tabs" role="tablist" aria-label="Log views">
            <button
              type="button"
              role="tab"
              id={`${ids}-tab-log`}
              aria-selected={tab === 'log'}
              aria-controls={`${ids}-panel`}
              className={tab === 'log' ? 'log-tab active' : 'log-tab'}
              onClick={() => setTab('log')}
            >
              <TerminalIcon width={15} height={15} />
              Log
            </button>
            <button
              type="button"
              role="tab"
              id={`${ids}-tab-requests`}
              aria-selected={tab === 'requests'}
              aria-controls={`${ids}-panel`}
              className={tab === 'requests' ? 'log-tab active' : 'log-tab'}
              onClick={() => setTab('requests')}
            >
              <ChartIcon width={15} height={15} />
              Requests
              <span className="log-tab-count">{formatCount(requestCount)}</span>
            </button>
          </div>
        ) : null}
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
            onChange={(e) => setSearch(e.target.value)}
          />
          {search ? null : (
            <span className="log-kbd" aria-hidden="true">
              /
            </span>
          )}
        </label>
        <label className="log-field">
          <span className="visually-hidden">Level</span>
          <select value={level} onChange={(e) => setLevel(e.target.value as LogLevel | '')}>
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
          <select value={preset} onChange={(e) => choosePreset(e.target.value as Preset)}>
            {presets.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        {preset === 'custom' ? (
          <>
            <label className="log-field log-field-date">
              <span>From</span>
              <input
                type="datetime-local"
                value={customFrom}
                onChange={(e) => changeCustom(e.target.value, customTo)}
              />
            </label>
            <label className="log-field log-field-date">
              <span>To</span>
              <input
                type="datetime-local"
                value={customTo}
                onChange={(e) => changeCustom(customFrom, e.target.value)}
              />
            </label>
          </>
        ) : (
          <label className="log-field">
            <span className="visually-hidden">Lines to load</span>
            <select value={tail} onChange={(e) => setTail(Number(e.target.value))} disabled={range !== null}>
              {TAILS.map((n) => (
                <option key={n} value={n}>
                  Last {formatCount(n)} lines
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <div className="log-toolbar log-toolbar-actions">
        <button
          type="button"
          className="log-btn"
          onClick={() => setPaused((p) => !p)}
          disabled={!streaming}
          aria-keyshortcuts="p"
          title="Stop adding new lines to the view; they are kept (P)"
        >
          {paused ? <PlayIcon width={15} height={15} /> : <PauseIcon width={15} height={15} />}
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button
          type="button"
          className="log-btn log-toggle"
          aria-pressed={autoScroll}
          onClick={() => changeAutoScroll(!autoScroll)}
          aria-keyshortcuts="a"
          title="Keep the newest line in view (A)"
        >
          <ArrowDownIcon width={15} height={15} />
          Auto-scroll
        </button>
        <button
          type="button"
          className="log-btn log-toggle"
          aria-pressed={streaming}
          onClick={toggleStream}
          aria-keyshortcuts="s"
          title="Follow the log as it is written (S)"
        >
          <RadioIcon width={15} height={15} />
          Stream
        </button>
        <button
          type="button"
          className="log-btn"
          onClick={refresh}
          aria-keyshortcuts="r"
          title="Load the log again (R)"
        >
          <RefreshIcon width={15} height={15} />
          Refresh
        </button>
        <button type="button" className="log-btn" onClick={clear} aria-keyshortcuts="c" title="Clear the view (C)">
          <EraserIcon width={15} height={15} />
          Clear
        </button>
        <span className="log-toolbar-spacer" />
        {log.container ? (
          <span className="log-chip log-chip-warn" data-testid="log-container">
            Container {log.container}
          </span>
        ) : null}
        <ConnectionIndicator state={connection} />
        <span className="log-count" data-testid="log-count">
          {formatCount(log.view.length)} {log.view.length === 1 ? 'line' : 'lines'}
        </span>
        <a
          className="log-btn"
          href={download('text')}
          download
          title={range ? 'Download this time range as text' : 'Download the whole log as text'}
        >
          <DownloadIcon width={15} height={15} />
          Download
        </a>
        <a
          className="log-btn"
          href={download('jsonl')}
          download
          title={range ? 'Download this time range as JSON lines' : 'Download the whole log as JSON lines'}
        >
          <DownloadIcon width={15} height={15} />
          Download JSONL
        </a>
        <div className="log-help-wrap">
          <button
            type="button"
            className="log-btn log-btn-icon"
            aria-expanded={helpOpen}
            aria-controls={`${ids}-help`}
            aria-label="Keyboard shortcuts"
            aria-keyshortcuts="?"
            title="Keyboard shortcuts (?)"
            onClick={() => setHelpOpen((open) => !open)}
          >
            ?
          </button>
          {helpOpen ? (
            <div className="log-help" id={`${ids}-help`} role="note" aria-label="Keyboard shortcuts">
              <strong>Keyboard shortcuts</strong>
              <dl>
                {shortcuts.map(([key, what]) => (
                  <div key={key} className="log-help-row">
                    <dt>
                      <kbd className="log-kbd">{key}</kbd>
                    </dt>
                    <dd>{what}</dd>
                  </div>
                ))}
              </dl>
              <span className="log-dim">
                {variant === 'embedded' ? 'While the log has focus; not' : 'Not'} while typing in a field.
              </span>
            </div>
          ) : null}
        </div>
      </div>
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
          <RequestsView entries={log.entries} />
        )}
      </div>
      {log.entries.length >= MAX_ENTRIES ? (
        <p className="log-footnote">Only the newest {formatCount(MAX_ENTRIES)} entries are kept in the browser.</p>
      ) : null}
    </section>
  );
}
