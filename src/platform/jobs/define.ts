import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { Operation, OperationError } from '../../db/schema.js';

/** What every job may do, whatever its kind: the helpers jobs share take this much. */
export interface JobActivity {
  operation: Operation;
  /** Progress within the current step, 0–100. */
  progress(percent: number): Promise<void>;
  log(message: string, level?: 'info' | 'warn' | 'error'): Promise<void>;
}

/** Records what a job created, by name and type, so that an interrupted job can be undone after a restart. */
export interface JobMemory<Resources extends object> {
  remember<Key extends keyof Resources & string>(key: Key, value: Resources[Key]): Promise<void>;
  /** What was remembered so far. */
  resources(): Partial<Resources>;
}

/** What a job's `run` sees: its typed input, its planned steps by name, its typed memory. */
export interface JobContext<Input = unknown, Step extends string = string, Resources extends object = object>
  extends JobActivity,
    JobMemory<Resources> {
  input: Input;
  /**
   * Waits `ms` before trying again (an upload's backoff). A job whose kind may be cancelled while
   * waiting (`control.cancel: 'waiting'`) shows the wait and can be cancelled during it: the wait
   * then throws a JobCancelled, which the job lets through.
   */
  wait(ms: number, reason: string): Promise<void>;
  /** Runs one planned step: marks it running, then done or failed; progress follows the steps. */
  step<T>(name: Step, work: () => Promise<T>): Promise<T>;
  /** Marks a planned step as not needed this time, saying why. */
  skip(name: Step, reason: string): Promise<void>;
}

/** What a job's `recover` sees: the failed operation, its input and what it had remembered. */
export interface FailedJob<Input = unknown, Resources extends object = object> {
  operation: Operation;
  input: Input;
  resources: Partial<Resources>;
}

/**
 * What queueing a job needs: its kind, the schema of its input, and its plan, the steps an input
 * leads to (the operation row lists them; users see them). Pure: no dependencies, so services
 * that queue a job import it without the code that runs it.
 */
export interface JobSpec<Kind extends string = string, Input extends TSchema = TSchema, Step extends string = string> {
  readonly kind: Kind;
  readonly input: Input;
  plan(input: Static<Input>): readonly Step[];
  /** What users may do with a job of this kind besides watching it (default: nothing). */
  readonly control?: JobControlPolicy<Step>;
}

/**
 * When a job of a kind may be cancelled or queued again, and while which steps it leaves its
 * target free. Declared per kind, beside its steps: only the kind knows what is safe.
 */
export interface JobControlPolicy<Step extends string = string> {
  /**
   * `queued`: before it starts (nothing was done yet, and its `recover` undoes what queueing
   * prepared). `waiting`: also while it waits to try again (`wait`), between attempts.
   */
  readonly cancel?: 'queued' | 'waiting';
  /** A failed or cancelled job may be queued again with the same input. */
  readonly retry?: boolean;
  /**
   * Steps during which the job no longer holds its target: what is left reads only what it made
   * (a backup's upload reads the finished file), so other jobs may start on the target.
   */
  readonly freesTargetDuring?: readonly Step[];
}

/** What a job's wait throws when a user cancelled it. */
export class JobCancelled extends Error {
  constructor(readonly by: string) {
    super(`Cancelled by ${by}.`);
    this.name = 'JobCancelled';
  }
}

const policies = new Map<string, JobControlPolicy>();

/** Every declared kind's policy, kept as specs are declared: a job's view says what may be done with it. */
export const controlOf = (kind: string): JobControlPolicy => policies.get(kind) ?? {};

/** Whether a job, at its current step, keeps other jobs off its target. */
export const holdsTarget = (job: { kind: string; status: string; step: string | null }): boolean =>
  (job.status === 'queued' || job.status === 'running') &&
  !(job.step !== null && controlOf(job.kind).freesTargetDuring?.includes(job.step));

/** A job kind: its spec, and the code that runs it and undoes what an interrupted run made. */
export interface JobDefinition<
  Kind extends string = string,
  Input extends TSchema = TSchema,
  Step extends string = string,
  Resources extends TSchema = TSchema,
> extends JobSpec<Kind, Input, Step> {
  /** The shape of what `remember` records (a type for the code; never checked at run time). */
  readonly resources?: Resources;
  run(job: JobContext<Static<Input>, Step, Static<Resources> & object>): Promise<Record<string, unknown> | undefined>;
  /**
   * Called once after the job failed or was interrupted, with what it had created: undo it, or mark
   * it clearly for cleanup. Must be safe to call with partial resources.
   */
  recover?(failed: FailedJob<Static<Input>, Static<Resources> & object>, error: OperationError): Promise<void>;
}

/** The context a job of this spec runs with, remembering what `Resources` describes (for helpers of `run`). */
export type JobContextOf<Spec extends JobSpec, Resources extends TSchema = TSchema> =
  Spec extends JobSpec<string, infer Input, infer Step>
    ? JobContext<Static<Input>, Step, Static<Resources> & object>
    : never;

declare const planned: unique symbol;

/**
 * The steps a planned job runs, with its checked input: what an operation row is made of. Only
 * `planJob` makes one, so no queueing code can list steps of its own.
 */
export interface PlannedJob {
  readonly [planned]: true;
  readonly kind: string;
  readonly input: Record<string, unknown>;
  readonly steps: readonly string[];
}

/** Declares what queueing a job needs (see JobSpec). */
export const jobSpec = <const Kind extends string, Input extends TSchema, const Step extends string>(
  spec: JobSpec<Kind, Input, Step>,
): JobSpec<Kind, Input, Step> => {
  policies.set(spec.kind, spec.control ?? {});
  return spec;
};

/** Declares a job kind: `defineJob({ ...spec, resources, run, recover })`. */
export const defineJob = <
  const Kind extends string,
  Input extends TSchema,
  const Step extends string,
  Resources extends TSchema = TSchema,
>(
  definition: JobDefinition<Kind, Input, Step, Resources>,
): JobDefinition<Kind, Input, Step, Resources> => {
  policies.set(definition.kind, definition.control ?? {});
  return definition;
};

const validators = new WeakMap<TSchema, ReturnType<typeof Compile>>();

function validatorOf(schema: TSchema): ReturnType<typeof Compile> {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema);
    validators.set(schema, validator);
  }
  return validator;
}

/**
 * Checks a job's input against its schema and plans its steps. A refused input is a programming
 * error (the service should have refused the request first): it throws, and nothing is written.
 */
export function planJob<Kind extends string, Input extends TSchema, Step extends string>(
  spec: JobSpec<Kind, Input, Step>,
  input: Static<Input>,
): PlannedJob {
  const validator = validatorOf(spec.input);
  if (!validator.Check(input)) {
    const problems = [...validator.Errors(input)]
      .slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message}`)
      .join('; ');
    throw new Error(`job ${spec.kind}: its input does not match its schema (${problems})`);
  }
  const steps = spec.plan(input);
  if (steps.length === 0 || new Set(steps).size !== steps.length)
    throw new Error(`job ${spec.kind}: its plan must list one or more steps, each once (${steps.join(', ')})`);
  return { kind: spec.kind, input: input as Record<string, unknown>, steps } as unknown as PlannedJob;
}
