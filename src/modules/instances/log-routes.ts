import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { formatEntry } from '../../odoo/log-parser.js';
import { MarinaError } from '../../platform/errors.js';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { DateTime, responses, Uuid } from '../../platform/http/schemas.js';
import { openEventStream } from '../../platform/http/sse.js';
import { patterns } from '../../platform/validation.js';
import { entryView, type LogEntryView, logLimits } from './logs.js';
import { LogEntry, LogLevel } from './schemas.js';

const Query = Type.String({ minLength: 1, maxLength: logLimits.query, pattern: patterns.label });
const Tail = Type.Integer({
  minimum: logLimits.tail.min,
  maximum: logLimits.tail.max,
  default: logLimits.tail.default,
});
const TailQuery = Type.Object(
  {
    tail: Type.Optional(Tail),
    since: Type.Optional(DateTime),
    until: Type.Optional(DateTime),
    level: Type.Optional(LogLevel),
    q: Type.Optional(Query),
  },
  { additionalProperties: false },
);
const StreamQuery = Type.Object(
  { tail: Type.Optional(Tail), level: Type.Optional(LogLevel), q: Type.Optional(Query) },
  { additionalProperties: false },
);
const DownloadQuery = Type.Object(
  {
    since: Type.Optional(DateTime),
    until: Type.Optional(DateTime),
    format: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('jsonl')])),
  },
  { additionalProperties: false },
);

function checkRange(since?: string, until?: string): { since?: Date; until?: Date } {
  const range = { since: since ? new Date(since) : undefined, until: until ? new Date(until) : undefined };
  if (range.since && range.until && range.since > range.until) {
    throw new MarinaError('MARINA_E_VALIDATION', '"since" must be before "until".', { field: 'since' });
  }
  return range;
}

/**
 * Streams a download. The first item is read before answering, so a refusal (no container, not
 * allowed) is an error answer and not a broken file.
 */
async function sendDownload<T>(
  reply: FastifyReply,
  name: string,
  format: 'text' | 'jsonl',
  items: AsyncGenerator<T>,
  render: (item: T) => { text: string; json: unknown },
) {
  const first = await items.next();
  async function* body() {
    let current = first;
    while (!current.done) {
      const rendered = render(current.value);
      yield format === 'jsonl' ? `${JSON.stringify(rendered.json)}\n` : `${rendered.text}\n`;
      current = await items.next();
    }
  }
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '');
  return reply
    .type(format === 'jsonl' ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}-${stamp}.${format === 'jsonl' ? 'jsonl' : 'log'}"`)
    .send(Readable.from(body()));
}

/** A system log line as text, for downloads: "time LEVEL logger: message" and its folded lines. */
const textLine = (entry: LogEntryView): string =>
  [`${entry.time ?? ''} ${entry.level ?? ''} ${entry.logger ?? ''}: ${entry.message}`, ...entry.continuation].join(
    '\n',
  );

export const logRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { logs, instances } = services;

  app.get(
    '/instances/:id/logs',
    {
      schema: {
        tags: ['logs'],
        summary: "An instance's log as parsed entries: the last `tail` (50–10 000), filtered by time, level and text",
        params: Type.Object({ id: Uuid }),
        querystring: TailQuery,
        response: responses({ 200: Type.Object({ entries: Type.Array(LogEntry) }) }),
      },
    },
    async (request) => {
      const { tail, since, until, level, q } = request.query;
      const entries = await logs.tail(contextOf(request).actor, request.params.id, {
        tail: tail ?? logLimits.tail.default,
        ...checkRange(since, until),
        level,
        q,
      });
      return { entries };
    },
  );

  app.get(
    '/instances/:id/logs/stream',
    {
      schema: {
        tags: ['logs'],
        summary:
          'Server-Sent Events: "entry" per log entry (id = cursor; Last-Event-ID resumes after it), "state" when the container stops or starts, heartbeats. Never ends on its own.',
        params: Type.Object({ id: Uuid }),
        querystring: StreamQuery,
      },
    },
    async (request, reply) => {
      const actor = contextOf(request).actor;
      const id = request.params.id;
      const instance = await instances.get(actor, id);
      const header = request.headers['last-event-id'];
      let after = typeof header === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(header) ? header : undefined;
      const stream = openEventStream(request, reply, (now) => instances.get(now, id));
      const abort = new AbortController();
      stream.closed.then(() => abort.abort());
      const filter = { tail: request.query.tail ?? 200, level: request.query.level, q: request.query.q };
      // The container stops, restarts, is recreated: the stream waits for it and goes on.
      while (!abort.signal.aborted) {
        try {
          stream.send('state', { container: 'running' });
          for await (const entry of logs.follow(actor, id, { ...filter, after }, abort.signal)) {
            stream.send('entry', entry, entry.id);
            after = entry.id;
            await stream.drained();
          }
        } catch (error) {
          if (abort.signal.aborted) break;
          request.log.debug({ err: error, instance: instance.id }, 'log stream interrupted');
        }
        if (abort.signal.aborted) break;
        const state = await instances.row(id).catch(() => undefined);
        stream.send('state', { container: state?.status === 'running' ? 'restarting' : (state?.status ?? 'missing') });
        await new Promise<void>((resolve) => {
          const onChange = (view: { id: string; status: string }) => {
            if (view.id === id && view.status === 'running') done();
          };
          const timer = setTimeout(() => done(), 2000);
          const done = () => {
            clearTimeout(timer);
            instances.bus.off('instance', onChange);
            resolve();
          };
          instances.bus.on('instance', onChange);
          stream.closed.then(done);
        });
      }
      stream.close();
    },
  );

  app.get(
    '/instances/:id/logs/download',
    {
      schema: {
        tags: ['logs'],
        summary: "Download an instance's log between two times, as text or JSON lines (streamed)",
        params: Type.Object({ id: Uuid }),
        querystring: DownloadQuery,
      },
    },
    async (request, reply) => {
      const actor = contextOf(request).actor;
      const instance = await instances.get(actor, request.params.id);
      const abort = new AbortController();
      request.raw.on('close', () => abort.abort());
      const entries = logs.range(
        actor,
        instance.id,
        checkRange(request.query.since, request.query.until),
        abort.signal,
      );
      return sendDownload(reply, instance.name, request.query.format ?? 'text', entries, (entry) => ({
        text: formatEntry(entry),
        json: entryView(entry),
      }));
    },
  );
};

export const systemLogRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { systemLogs } = services;

  app.get(
    '/system/logs',
    {
      schema: {
        tags: ['logs'],
        summary: "Marina's own log (platform admins), as entries: the last `tail`, filtered by time, level and text",
        querystring: TailQuery,
        response: responses({ 200: Type.Object({ entries: Type.Array(LogEntry) }) }),
      },
    },
    async (request) => {
      const { tail, since, until, level, q } = request.query;
      return {
        entries: await systemLogs.tail(contextOf(request).actor, {
          tail: tail ?? logLimits.tail.default,
          ...checkRange(since, until),
          level,
          q,
        }),
      };
    },
  );

  app.get(
    '/system/logs/stream',
    {
      schema: {
        tags: ['logs'],
        summary: 'Server-Sent Events of Marina\'s own log (platform admins): "entry" per entry, Last-Event-ID resumes',
        querystring: StreamQuery,
      },
    },
    async (request, reply) => {
      const actor = contextOf(request).actor;
      await systemLogs.tail(actor, { tail: logLimits.tail.min });
      const header = request.headers['last-event-id'];
      const after = typeof header === 'string' && /^\d{16}$/.test(header) ? header : undefined;
      const stream = openEventStream(request, reply, (now) => systemLogs.tail(now, { tail: logLimits.tail.min }));
      const abort = new AbortController();
      stream.closed.then(() => abort.abort());
      const query = { tail: request.query.tail ?? 200, level: request.query.level, q: request.query.q, after };
      for await (const entry of systemLogs.follow(actor, query, abort.signal)) {
        stream.send('entry', entry, entry.id);
        await stream.drained();
      }
      stream.close();
    },
  );

  app.get(
    '/system/logs/download',
    {
      schema: {
        tags: ['logs'],
        summary: "Download Marina's own log between two times (platform admins), as text or JSON lines",
        querystring: DownloadQuery,
      },
    },
    async (request, reply) => {
      const lines = systemLogs.range(contextOf(request).actor, checkRange(request.query.since, request.query.until));
      return sendDownload(reply, 'marina', request.query.format ?? 'text', lines, ({ entry }) => ({
        text: textLine(entry),
        json: entry,
      }));
    },
  );
};
