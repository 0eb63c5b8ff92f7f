import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { api, call } from './api/client';
import { type InstancePages, removePaged, upsertPaged } from './api/instance-pages';
import { queryKeys } from './api/queries';
import type { Instance, InstanceStats, Job, JobLogLine } from './api/types';
import { isJobFinished } from './operate';

/** The current time, refreshed every `intervalMs`: for ticking uptimes and durations. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** Calls `tick` every `intervalMs` while `active`; the latest callback is used each time. */
export function useInterval(tick: () => void, intervalMs: number, active = true): void {
  const ref = useRef(tick);
  ref.current = tick;
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => ref.current(), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs, active]);
}

export type LiveState = 'connecting' | 'live' | 'reconnecting';

interface InstanceEventHandlers {
  onInstance(instance: Instance): void;
  onRemoved(id: string): void;
  /** After a reconnection: events may have been missed, so reload. */
  onReconnected?(): void;
}

const RETRY_MS = [1000, 2000, 5000, 10000];

/**
 * Follows GET /api/v1/instances/events. The browser reconnects on its own after a dropped
 * connection; when it gives up (an HTTP error), this opens a new stream after a pause.
 */
export function useInstanceEvents(handlers: InstanceEventHandlers): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const ref = useRef(handlers);
  ref.current = handlers;

  useEffect(() => {
    let source: EventSource | null = null;
    let retry: number | undefined;
    let attempts = 0;
    let opened = false;
    let stopped = false;

    const connect = () => {
      source = new EventSource('/api/v1/instances/events', { withCredentials: true });
      source.addEventListener('open', () => {
        attempts = 0;
        setState('live');
        if (opened) ref.current.onReconnected?.();
        opened = true;
      });
      source.addEventListener('instance', (event) => {
        ref.current.onInstance(JSON.parse((event as MessageEvent<string>).data) as Instance);
      });
      source.addEventListener('removed', (event) => {
        ref.current.onRemoved((JSON.parse((event as MessageEvent<string>).data) as { id: string }).id);
      });
      source.addEventListener('error', () => {
        if (stopped) return;
        setState('reconnecting');
        if (source?.readyState === EventSource.CLOSED) {
          source.close();
          const wait = RETRY_MS[Math.min(attempts, RETRY_MS.length - 1)];
          attempts++;
          retry = window.setTimeout(connect, wait);
        }
      });
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      source?.close();
    };
  }, []);

  return state;
}

/**
 * Writes GET /instances/events into the query cache, so the instance list (in pages) and
 * every instance page on screen show each change as it happens. `onRemoved` adds what a page does when one goes away.
 */
export function useLiveInstanceCache(onRemoved?: (id: string) => void): LiveState {
  const queryClient = useQueryClient();
  const removedRef = useRef(onRemoved);
  removedRef.current = onRemoved;
  return useInstanceEvents({
    onInstance: (instance) => {
      queryClient.setQueryData<InstancePages>(queryKeys.instances.pages(), (data) =>
        data ? upsertPaged(data, instance) : data,
      );
      queryClient.setQueryData<Instance>(queryKeys.instances.detail(instance.id), (current) =>
        current ? instance : current,
      );
    },
    onRemoved: (id) => {
      queryClient.setQueryData<InstancePages>(queryKeys.instances.pages(), (data) =>
        data ? removePaged(data, id) : data,
      );
      removedRef.current?.(id);
    },
    onReconnected: () => void queryClient.invalidateQueries({ queryKey: queryKeys.instances.all }),
  });
}

export interface JobStream {
  job: Job | null;
  logs: JobLogLine[];
  /** True once the job finished and the stream said "end". */
  ended: boolean;
}

/**
 * Progress reports of one step may overtake each other on their way to the database, so a running
 * job can briefly report less than before: the bar never moves backwards while the job runs.
 */
function steady(previous: Job | null, next: Job): Job {
  if (!previous || previous.id !== next.id || isJobFinished(next.status)) return next;
  return next.progress < previous.progress ? { ...next, progress: previous.progress } : next;
}

function mergeLogs(current: JobLogLine[], more: JobLogLine[]): JobLogLine[] {
  const seen = new Set(current.map((l) => l.id));
  const fresh = more.filter((l) => !seen.has(l.id));
  if (fresh.length === 0) return current;
  return [...current, ...fresh].sort((a, b) => Number(a.id) - Number(b.id) || a.id.localeCompare(b.id));
}

/**
 * Follows one job live over GET /api/v1/jobs/{id}/events: "job" snapshots, "log" lines, "end".
 * `initial` shows something before the stream answers (e.g. the job from a 202 answer).
 */
export function useJobStream(jobId: string | null, initial?: { job?: Job | null; logs?: JobLogLine[] }): JobStream {
  const queryClient = useQueryClient();
  const [stream, setStream] = useState<JobStream>({
    job: initial?.job ?? null,
    logs: initial?.logs ?? [],
    ended: initial?.job ? isJobFinished(initial.job.status) : false,
  });
  const initialRef = useRef(initial);
  initialRef.current = initial;

  useEffect(() => {
    if (!jobId) return;
    const start = initialRef.current;
    setStream({
      job: start?.job ?? null,
      logs: start?.logs ?? [],
      ended: start?.job ? isJobFinished(start.job.status) : false,
    });
    if (start?.job && isJobFinished(start.job.status)) return;

    let source: EventSource | null = null;
    let retry: number | undefined;
    let stopped = false;

    const finish = () => {
      stopped = true;
      source?.close();
    };

    const connect = () => {
      source = new EventSource(`/api/v1/jobs/${jobId}/events`, { withCredentials: true });
      source.addEventListener('job', (event) => {
        const job = JSON.parse((event as MessageEvent<string>).data) as Job;
        setStream((s) => ({ ...s, job: steady(s.job, job) }));
      });
      source.addEventListener('log', (event) => {
        const line = JSON.parse((event as MessageEvent<string>).data) as JobLogLine;
        setStream((s) => ({ ...s, logs: mergeLogs(s.logs, [line]) }));
      });
      source.addEventListener('end', () => {
        setStream((s) => ({ ...s, ended: true }));
        finish();
        // Lists of jobs and this job's page, wherever they are cached, show the outcome.
        void queryClient.invalidateQueries({ queryKey: queryKeys.jobs.all });
      });
      source.addEventListener('error', () => {
        if (stopped || source?.readyState !== EventSource.CLOSED) return;
        source.close();
        // The stream failed for good (e.g. a proxy cut it): ask for the job, then try again.
        call(api.GET('/api/v1/jobs/{id}', { params: { path: { id: jobId } } })).then(
          ({ job, logs }) => {
            if (stopped) return;
            const over = isJobFinished(job.status);
            setStream((s) => ({ job, logs: mergeLogs(s.logs, logs), ended: over }));
            if (over) finish();
            else retry = window.setTimeout(connect, 2000);
          },
          () => {
            if (!stopped) retry = window.setTimeout(connect, 5000);
          },
        );
      });
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      source?.close();
    };
  }, [jobId, queryClient]);

  return stream;
}

/** Runs `work` over `items` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const runners = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  });
  await Promise.all(runners);
}

/**
 * Stats of the given running instances, refreshed every `intervalMs`, at most `concurrency`
 * requests at once. An instance whose stats fail simply shows none.
 */
export function useStatsOf(
  ids: string[],
  intervalMs: number,
  concurrency = 20,
  /** Measures again at once when this changes (e.g. the instance's status). */
  refreshKey = '',
): Record<string, InstanceStats> {
  const [stats, setStats] = useState<Record<string, InstanceStats>>({});
  const key = [...ids].sort().join(',');

  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey is there to measure again when it changes.
  useEffect(() => {
    const wanted = key ? key.split(',') : [];
    let cancelled = false;
    let timer: number | undefined;
    const load = async () => {
      await pool(wanted, concurrency, async (id) => {
        try {
          const { stats: one } = await call(api.GET('/api/v1/instances/{id}/stats', { params: { path: { id } } }));
          if (!cancelled) setStats((all) => ({ ...all, [id]: one }));
        } catch {
          // A failed sample leaves the previous one; the next round tries again.
        }
      });
      if (!cancelled) timer = window.setTimeout(load, intervalMs);
    };
    void load();
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [key, intervalMs, concurrency, refreshKey]);

  return stats;
}
