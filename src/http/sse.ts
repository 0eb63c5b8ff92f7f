import type { FastifyReply, FastifyRequest } from 'fastify';

export interface EventStream {
  send(event: string, data: unknown, id?: string): void;
  /** Resolves once the client has taken what was sent (or left): producers wait here instead of buffering. */
  drained(): Promise<void>;
  close(): void;
  /** Resolves when the client goes away or the stream is closed. */
  closed: Promise<void>;
}

/** A client that cannot keep up is dropped rather than buffered without limit. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const SOFT_BUFFERED_BYTES = 64 * 1024;
const HEARTBEAT_MS = 15_000;

/** Server-Sent Events on a hijacked reply: heartbeats, clean end when the client leaves. */
export function openEventStream(request: FastifyRequest, reply: FastifyReply): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  });
  res.write(': connected\n\n');
  let open = true;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const close = () => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    res.end();
    resolveClosed();
  };
  const heartbeat = setInterval(() => {
    if (open) res.write(': heartbeat\n\n');
  }, HEARTBEAT_MS);
  request.raw.on('close', close);
  res.on('error', close);
  return {
    send(event, data, id) {
      if (!open) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        close();
        return;
      }
      res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    drained() {
      if (!open || res.writableLength < SOFT_BUFFERED_BYTES) return Promise.resolve();
      return new Promise<void>((resolve) => {
        res.once('drain', resolve);
        closed.then(resolve);
      });
    },
    close,
    closed,
  };
}
