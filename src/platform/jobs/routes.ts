import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../http/auth.js';
import type { RouteOptions } from '../http/route-options.js';
import { responses, Uuid } from '../http/schemas.js';
import { openEventStream } from '../http/sse.js';
import { isFinished, type OperationLogLine, type OperationView, operationView } from './operations.js';
import { Job, JobLogLine, JobStatus } from './schemas.js';

export const jobRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const operations = services.operations;

  app.get(
    '/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Jobs (long operations), newest first',
        querystring: Type.Object(
          {
            status: Type.Optional(JobStatus),
            kind: Type.Optional(Type.String({ pattern: '^[a-z]+(\\.[a-z_]+)*$', maxLength: 60 })),
            target: Type.Optional(Uuid),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            cursor: Type.Optional(Uuid),
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({ jobs: Type.Array(Job), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
        }),
      },
    },
    async (request) => {
      const q = request.query;
      return operations.list(contextOf(request).actor, {
        status: q.status,
        kind: q.kind,
        targetId: q.target,
        limit: q.limit ?? 50,
        before: q.cursor,
      });
    },
  );

  app.get(
    '/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'One job, with its log',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ job: Job, logs: Type.Array(JobLogLine) }) }),
      },
    },
    async (request) => {
      const actor = contextOf(request).actor;
      const job = operationView(await operations.get(actor, request.params.id));
      return { job, logs: await operations.logs(actor, request.params.id) };
    },
  );

  app.get(
    '/jobs/:id/events',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Server-Sent Events: "job" on every change, "log" for each log line, "end" when it is over',
        params: Type.Object({ id: Uuid }),
      },
    },
    async (request, reply) => {
      const actor = contextOf(request).actor;
      const id = request.params.id;
      await operations.get(actor, id);
      const stream = openEventStream(request, reply, (now) => operations.get(now, id));
      const onJob = (job: OperationView) => {
        stream.send('job', job);
        if (isFinished(job.status)) {
          stream.send('end', { status: job.status });
          stream.close();
        }
      };
      const onLog = (line: OperationLogLine) => stream.send('log', line, line.id);
      operations.bus.on(`op:${id}`, onJob);
      operations.bus.on(`log:${id}`, onLog);
      // Subscribed first, then the snapshot: nothing falls between the two.
      const lastEventId = request.headers['last-event-id'];
      const after = typeof lastEventId === 'string' && /^\d+$/.test(lastEventId) ? lastEventId : undefined;
      for (const line of await operations.logs(actor, id, after)) stream.send('log', line, line.id);
      onJob(operationView(await operations.get(actor, id)));
      await stream.closed;
      operations.bus.off(`op:${id}`, onJob);
      operations.bus.off(`log:${id}`, onLog);
    },
  );
};
