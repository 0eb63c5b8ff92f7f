import type { paths } from '../../api/schema.js';

/**
 * Shapes of Marina's API as the CLI uses them, every one taken from the types generated from the
 * OpenAPI document (`npm run gen:api`): when a route's schema changes, the CLI stops compiling
 * instead of drifting.
 */

export type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';

type Operation<P extends keyof paths, M extends Method> = paths[P][M];

/** The parameters (path, query) of `method path`. */
export type Params<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { parameters: infer X } ? X : never;

/** The JSON `method path` answers with `status`. */
export type Json<P extends keyof paths, M extends Method, S extends number | string = 200> =
  Operation<P, M> extends { responses: infer R }
    ? S extends keyof R
      ? R[S] extends { content: { 'application/json': infer T } }
        ? T
        : never
      : never
    : never;

/** The JSON body `method path` takes. */
export type Body<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: { content: { 'application/json': infer T } } } ? T : never;

/** Marina's error answer, the same for every route. */
export type ErrorBody = Json<'/api/v1/me', 'get', '4XX'>;

export type Project = Json<'/api/v1/projects', 'get'>['projects'][number];
export type Instance = Json<'/api/v1/instances/{id}', 'get'>['instance'];
export type InstanceStage = Body<'/api/v1/instances', 'post'>['stage'];

/** A job as GET /jobs/{id} gives it, and as its event stream sends it ("job" events). */
export type Job = Json<'/api/v1/jobs/{id}', 'get'>['job'];
/** A job's log line, as GET /jobs/{id} gives it and its event stream sends it ("log" events). */
export type JobLogLine = Json<'/api/v1/jobs/{id}', 'get'>['logs'][number];
export type JobStatus = Job['status'];
/** A job as the API answers when it starts one. */
export type StartedJob = Json<'/api/v1/repositories/{id}/pull', 'post', 202>['jobs'][number];

/** An Odoo log entry, as the log and its event stream ("entry" events) give it. */
export type LogEntry = Json<'/api/v1/instances/{id}/logs', 'get'>['entries'][number];
export type LogLevel = NonNullable<LogEntry['level']>;

export type Backup = Json<'/api/v1/backups/{id}', 'get'>['backup'];
export type BackupCopy = Backup['copies'][number];

export type Destination = Json<'/api/v1/destinations/{id}', 'get'>['destination'];
export type NewDestination = Body<'/api/v1/destinations', 'post'>;
export type DestinationChanges = Body<'/api/v1/destinations/{id}', 'patch'>;
export type ProbeResult = Json<'/api/v1/destinations/{id}/test', 'post'>;

export type Schedule = NonNullable<Json<'/api/v1/instances/{id}/schedule', 'get'>['schedule']>;
export type ScheduleSpec = Schedule['spec'];
export type RetentionPolicy = Schedule['retention']['local'];

export type Repository = Json<'/api/v1/repositories/{id}', 'get'>['repository'];
export type GitStatus = NonNullable<Repository['checkouts'][number]['git']>;

export type ModuleChange = Body<'/api/v1/instances/{id}/modules', 'post'>;
export type ModulePlan = Json<'/api/v1/instances/{id}/modules', 'post'>['plan'];
