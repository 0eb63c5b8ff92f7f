import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from '../../api/errors';
import {
  type LogEntry,
  type LogFilter,
  type LogLevel,
  type LogQuery,
  type LogSource,
  MAX_ENTRIES,
  queryString,
} from './model';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'off';

/** A time range instead of the live tail: both ends ISO, either may be open. */
export interface LogRange {
  since: string | null;
  until: string | null;
}

export interface LogBufferOptions {
  source: LogSource;
  filter: LogFilter;
  /** Lines to start with: the last `tail` entries (50–10 000). */
  tail: number;
  /** Follow the log live; otherwise load once (the tail, or the range). */
  streaming: boolean;
  /** Entries between two times; only without streaming. */
  range: LogRange | null;
  /** Keeps buffering but stops changing `view`. */
  paused: boolean;
  /** Off: nothing is asked of the server and the buffer stays empty (a second buffer not needed now). */
  enabled?: boolean;
}

export interface LogBuffer {
  /** Everything received, oldest first, at most MAX_ENTRIES. */
  entries: LogEntry[];
  /** What the viewer shows: `entries`, or the entries as they were when paused. */
  view: LogEntry[];
  /** Entries received since the pause. */
  newWhilePaused: number;
  /** Entries received since the buffer started over: a counter for "N new lines". */
  received: number;
  state: StreamState;
  /** The container's state when the stream says it is not running ("stopped", "missing"…). */
  container: string | null;
  error: string | null;
  loading: boolean;
  /** Changes whenever the buffer starts over (new filter, refresh, clear). */
  epoch: number;
  refresh(): void;
  clear(): void;
}

const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];
const FLUSH_MS = 60;

/** The query without its empty parts, as the API wants it. */
function clean(query: { tail: number; level: LogLevel | ''; q: string; since?: string | null; until?: string | null }) {
  const result: LogQuery = { tail: query.tail };
  if (query.level) result.level = query.level;
  if (query.q) result.q = query.q;
  if (query.since) result.since = query.since;
  if (query.until) result.until = query.until;
  return result;
}

const trim = (entries: LogEntry[]): LogEntry[] =>
  entries.length > MAX_ENTRIES ? entries.slice(entries.length - MAX_ENTRIES) : entries;

/**
 * An instance's (or Marina's) log in memory: the tail, then new entries over Server-Sent Events.
 * Entries arrive in bursts, so they are added a few times a second rather than one render each.
 * The browser reconnects a dropped stream by itself and the server resumes after Last-Event-ID;
 * when the stream fails for good (an HTTP error), a new one opens after a pause, and entries the
 * buffer already has (its tail again) are skipped by their ordered ids.
 */
export function useLogStream({
  source,
  filter,
  tail,
  streaming,
  range,
  paused,
  enabled = true,
}: LogBufferOptions): LogBuffer {
  const [entries, setEntries] = useState<LogEntry[]>([]);
  const [frozen, setFrozen] = useState<{ entries: LogEntry[]; received: number } | null>(null);
  const [state, setState] = useState<StreamState>(streaming ? 'connecting' : 'off');
  const [container, setContainer] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [epoch, setEpoch] = useState(0);
  const [received, setReceived] = useState(0);
  const [refreshes, setRefreshes] = useState(0);
  const entriesRef = useRef<LogEntry[]>([]);
  const pending = useRef<LogEntry[]>([]);
  const lastId = useRef<string | null>(null);
  const flushTimer = useRef<number | undefined>(undefined);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  const flush = useCallback(() => {
    flushTimer.current = undefined;
    const batch = pending.current;
    if (batch.length === 0) return;
    pending.current = [];
    const next = trim(entriesRef.current.concat(batch));
    entriesRef.current = next;
    setEntries(next);
    setReceived((n) => n + batch.length);
    if (pausedRef.current) setFrozen((f) => (f ? { ...f, received: f.received + batch.length } : f));
  }, []);

  const push = useCallback(
    (more: LogEntry[]) => {
      for (const entry of more) {
        if (entry.id && lastId.current !== null && entry.id <= lastId.current) continue;
        if (entry.id) lastId.current = entry.id;
        pending.current.push(entry);
      }
      if (pending.current.length > MAX_ENTRIES) pending.current = pending.current.slice(-MAX_ENTRIES);
      if (flushTimer.current === undefined) flushTimer.current = window.setTimeout(flush, FLUSH_MS);
    },
    [flush],
  );

  const reset = useCallback(() => {
    window.clearTimeout(flushTimer.current);
    flushTimer.current = undefined;
    pending.current = [];
    entriesRef.current = [];
    setEntries([]);
    setReceived(0);
    setFrozen((f) => (f ? { entries: [], received: 0 } : f));
    setEpoch((e) => e + 1);
  }, []);

  // Pausing freezes what is shown; resuming shows everything buffered meanwhile.
  useEffect(() => {
    setFrozen(paused ? { entries: entriesRef.current, received: 0 } : null);
  }, [paused]);

  const { base } = source;
  const loadRef = useRef(source.load);
  loadRef.current = source.load;
  const { level, q } = filter;
  const since = range?.since ?? null;
  const until = range?.until ?? null;

  // biome-ignore lint/correctness/useExhaustiveDependencies: `refreshes` is there to start over on demand.
  useEffect(() => {
    reset();
    lastId.current = null;
    setError(null);
    setContainer(null);
    let stopped = false;

    if (!enabled) {
      setState('off');
      setLoading(false);
      return;
    }

    if (!streaming) {
      setState('off');
      setLoading(true);
      loadRef.current(clean({ tail, level, q, since, until })).then(
        (loaded) => {
          if (stopped) return;
          push(loaded);
          setLoading(false);
        },
        (failure: unknown) => {
          if (stopped) return;
          setError(errorMessage(failure));
          setLoading(false);
        },
      );
      return () => {
        stopped = true;
      };
    }

    let stream: EventSource | null = null;
    let retry: number | undefined;
    let attempts = 0;
    setState('connecting');
    setLoading(true);

    const connect = () => {
      stream = new EventSource(`${base}/stream${queryString({ tail, level, q })}`, { withCredentials: true });
      stream.addEventListener('open', () => {
        attempts = 0;
        setState('live');
        setError(null);
        setLoading(false);
      });
      stream.addEventListener('entry', (event) => {
        push([JSON.parse((event as MessageEvent<string>).data) as LogEntry]);
      });
      stream.addEventListener('state', (event) => {
        const { container: now } = JSON.parse((event as MessageEvent<string>).data) as { container: string };
        setContainer(now === 'running' ? null : now);
      });
      stream.addEventListener('error', () => {
        if (stopped) return;
        setState('reconnecting');
        if (stream?.readyState !== EventSource.CLOSED) return; // the browser tries again by itself
        stream.close();
        const wait = RETRY_MS[Math.min(attempts, RETRY_MS.length - 1)];
        attempts++;
        // An EventSource does not say why it failed: ask the same question without streaming.
        loadRef.current(clean({ tail: 50, level, q })).then(
          () => undefined,
          (failure: unknown) => {
            if (!stopped) setError(errorMessage(failure));
          },
        );
        setLoading(false);
        retry = window.setTimeout(connect, wait);
      });
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      stream?.close();
    };
  }, [base, level, q, since, until, tail, streaming, enabled, refreshes, push, reset]);

  useEffect(() => () => window.clearTimeout(flushTimer.current), []);

  const refresh = useCallback(() => setRefreshes((n) => n + 1), []);

  return {
    entries,
    view: frozen ? frozen.entries : entries,
    newWhilePaused: frozen ? frozen.received : 0,
    received,
    state,
    container,
    error,
    loading,
    epoch,
    refresh,
    clear: reset,
  };
}
