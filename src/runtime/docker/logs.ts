import type { Readable } from 'node:stream';
import type Docker from 'dockerode';

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** Docker's timestamp, normalized to nine fractional digits so that ids sort as text. */
  timestamp: string;
  text: string;
}

export interface LogQuery {
  follow: boolean;
  /** Lines from the end; undefined = all. */
  tail?: number;
  since?: Date | string;
  until?: Date;
}

/** Open Docker log streams of this process, so tests can prove a client leaving closes its stream. */
export const openLogStreams = { count: 0 };

/** "2026-11-21T09:00:00.1234Z" → "2026-11-21T09:00:00.123400000Z" (Docker trims trailing zeros). */
export function normalizeTimestamp(ts: string): string {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(ts);
  if (!match) return ts;
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}Z`;
}

/** Docker wants seconds since the epoch, with nanoseconds after the dot. */
export function dockerTime(value: Date | string): string {
  if (value instanceof Date) return (value.getTime() / 1000).toFixed(3);
  const normalized = normalizeTimestamp(value);
  const match = /^(.*)\.(\d{9})Z$/.exec(normalized);
  if (!match) return (new Date(value).getTime() / 1000).toFixed(3);
  return `${Math.floor(new Date(`${match[1]}Z`).getTime() / 1000)}.${match[2]}`;
}

/**
 * Reads a container's log through the Engine API as lines. Non-TTY containers multiplex stdout and
 * stderr in frames (8-byte header: stream, size); each line starts with Docker's timestamp.
 */
export async function* containerLogLines(
  docker: Docker,
  containerId: string,
  query: LogQuery,
  signal: AbortSignal,
): AsyncGenerator<LogLine> {
  const options = {
    follow: query.follow,
    stdout: true,
    stderr: true,
    timestamps: true,
    ...(query.tail !== undefined ? { tail: query.tail } : {}),
    ...(query.since ? { since: dockerTime(query.since) } : {}),
    ...(query.until ? { until: dockerTime(query.until) } : {}),
    abortSignal: signal,
  };
  const result = (await docker.getContainer(containerId).logs(options as never)) as unknown;
  const stream: Readable | undefined = Buffer.isBuffer(result) ? undefined : (result as Readable);
  const chunks: AsyncIterable<Buffer> =
    stream ??
    (async function* () {
      yield result as Buffer;
    })();
  if (stream) {
    openLogStreams.count++;
    signal.addEventListener('abort', () => stream.destroy(), { once: true });
  }
  const pending = { stdout: '', stderr: '' };
  let buffer: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of chunks) {
      if (signal.aborted) return;
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      while (buffer.length >= 8) {
        const size = buffer.readUInt32BE(4);
        if (buffer.length < 8 + size) break;
        const which = buffer[0] === 2 ? 'stderr' : 'stdout';
        pending[which] += buffer.subarray(8, 8 + size).toString('utf8');
        buffer = buffer.subarray(8 + size);
        let newline = pending[which].indexOf('\n');
        while (newline >= 0) {
          const raw = pending[which].slice(0, newline);
          pending[which] = pending[which].slice(newline + 1);
          newline = pending[which].indexOf('\n');
          const space = raw.indexOf(' ');
          yield { stream: which, timestamp: normalizeTimestamp(raw.slice(0, space)), text: raw.slice(space + 1) };
        }
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    if (stream) {
      stream.destroy();
      openLogStreams.count--;
    }
  }
}
