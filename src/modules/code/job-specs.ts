import { type Static, Type } from 'typebox';
import { jobSpec } from '../../platform/jobs/define.js';
import { patterns } from '../../platform/validation.js';

export const UpdateJobInput = Type.Object(
  {
    repositoryId: Type.String({ pattern: patterns.uuid }),
    reason: Type.Union([
      Type.Literal('add'),
      Type.Literal('pull'),
      Type.Literal('hook'),
      Type.Literal('branch'),
      Type.Literal('provision'),
    ]),
    /** The commit a push announced (shown in the log; the job always takes the branch's head). */
    after: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  { additionalProperties: false },
);
export type UpdateJobInput = Static<typeof UpdateJobInput>;

/** Brings an instance's checkout of a repository to its branch's head, upgrading what changed. */
export const repositoryUpdateJob = jobSpec({
  kind: 'repository.update',
  input: UpdateJobInput,
  plan: () => ['fetch', 'changes', 'backup', 'upgrade', 'restart', 'health'],
});

/** After repositories were removed: their folders go, and Odoo restarts without them. */
export const reconfigureJob = jobSpec({
  kind: 'addons.reconfigure',
  input: Type.Object({}, { additionalProperties: false }),
  plan: () => ['checkout', 'restart', 'health'],
});

/** The inputs of the repository jobs, by kind: what `SubmitUpdate` takes. */
export interface RepositoryJobInputs {
  'repository.update': UpdateJobInput;
  'addons.reconfigure': Static<typeof reconfigureJob.input>;
}

const ModuleNames = Type.Array(Type.String());

export const ModulePlan = Type.Object(
  {
    install: ModuleNames,
    upgrade: ModuleNames,
    uninstall: ModuleNames,
    /** Installed modules that depend on those uninstalled: Odoo removes them too. */
    alsoUninstalled: ModuleNames,
    updateList: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type ModulePlan = Static<typeof ModulePlan>;

/** One batch of module changes, with a safety backup to roll back to. */
export const modulesJob = jobSpec({
  kind: 'modules.apply',
  input: ModulePlan,
  plan: () => ['backup', 'stop', 'apply', 'start', 'health'],
});
