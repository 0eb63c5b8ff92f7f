import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MarinaError } from '../errors.js';
import { contextOf } from '../http/auth.js';
import type { RouteOptions } from '../http/route-options.js';
import { DateTime, responses, Uuid } from '../http/schemas.js';
import { openEventStream } from '../http/sse.js';
import { isFinished, type OperationLogLine, type OperationView, operationView } from './operations.js';
import { Job, JobHolds, JobLogLine, JobStatus } from './schemas.js';

/** What a holding job keeps off its instance: every action that queues a job on it. */
const heldActions = ['start', 'stop', 'restart', 'delete', 'backup', 'restore', 'clone', 'update'];

/** The longest time span a job query covers (older jobs: page with the cursor). */
const MAX_SPAN_DAYS = 366;

export const jobRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const operations = services.operations;
  const control = services.jobControl;

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
            /** Created at or after this time. */
            since: Type.Optional(DateTime),
            /** Created before this time. */
            until: Type.Optional(DateTime),
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
      const since = q.since ? new Date(q.since) : undefined;
      const until = q.until ? new Date(q.until) : undefined;
      if (since && until && since.getTime() >= until.getTime())
        throw new MarinaError('MARINA_E_VALIDATION', '"since" must come before "until".', { field: 'since' });
      if (since && (until ?? new Date()).getTime() - since.getTime() > MAX_SPAN_DAYS * 86_400_000)
        throw new MarinaError('MARINA_E_VALIDATION', `A job query covers at most ${MAX_SPAN_DAYS} days.`, {
          field: 'since',
        });
      return operations.list(contextOf(request).actor, {
        status: q.status,
        kind: q.kind,
        targetId: q.target,
        since,
        until,
        limit: q.limit ?? 50,
        before: q.cursor,
      });
    },
  );

  app.get(
    '/jobs/holding',
    {
      schema: {
        tags: ['jobs'],
        summary: 'The jobs holding a target (an instance) now: while one does, these actions on it are refused',
        querystring: Type.Object({ target: Uuid }, { additionalProperties: false }),
        response: responses({ 200: JobHolds }),
      },
    },
    async (request) => {
      const jobs = await operations.holdingVisible(contextOf(request).actor, request.query.target);
      return { blocks: jobs.length > 0 ? heldActions : [], jobs };
    },
  );

  app.post(
    '/jobs/:id/cancel',
    {
      schema: {
        tags: ['jobs'],
        summary:
          'Cancel a queued job, or one waiting to try again where its kind allows it; answers the job as it ended',
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: Type.Object({ job: Job }) }),
      },
    },
    async (request) => ({ job: await control.cancel(contextOf(request), request.params.id) }),
  );

  app.post(
    '/jobs/:id/retry',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Queue a failed or cancelled job again with the same input, where its kind allows it',
        params: Type.Object({ id: Uuid }),
        response: responses({ 201: Type.Object({ job: Job }) }),
      },
    },
    async (request, reply) => {
      const job = await control.retry(contextOf(request), request.params.id);
      return reply.code(201).send({ job });
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
