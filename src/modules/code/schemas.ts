import { Type } from 'typebox';
import { DateTime, Nullable, Uuid } from '../../platform/http/schemas.js';

/** The shapes of repositories, checkouts and Odoo modules in the API; the services return these. */

export const Commit = Type.Object(
  { hash: Type.String(), author: Type.String(), email: Type.String(), date: Type.String(), subject: Type.String() },
  { title: 'Commit' },
);

export const GitStatus = Type.Object(
  {
    branch: Type.String(),
    head: Commit,
    dirty: Type.Boolean(),
    ahead: Type.Integer(),
    behind: Type.Integer(),
    diverged: Type.Boolean(),
    remoteHead: Nullable(Type.String()),
    changes: Type.Array(Type.String(), { description: 'Up to 20 changed paths when dirty' }),
  },
  { title: 'GitStatus', description: 'Ahead and behind compare with the remote branch as last fetched.' },
);

export const Checkout = Type.Object(
  {
    instanceId: Type.String(),
    instanceName: Type.String(),
    stage: Type.String(),
    branch: Type.String(),
    commit: Nullable(Type.String()),
    previousCommit: Nullable(Type.String()),
    status: Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('failed')]),
    error: Nullable(Type.String()),
    addons: Type.Array(Type.String()),
    lastJobId: Nullable(Type.String()),
    updatedAt: DateTime,
    git: Type.Optional(Nullable(GitStatus)),
    commits: Type.Optional(Type.Array(Commit)),
    fetchError: Type.Optional(Nullable(Type.String())),
  },
  { title: 'Checkout' },
);

export const Repository = Type.Object(
  {
    id: Type.String(),
    organizationId: Type.String(),
    projectId: Type.String(),
    name: Type.String(),
    url: Type.String(),
    branch: Type.String(),
    subfolder: Type.String(),
    submodules: Type.Boolean(),
    autoRestart: Type.Boolean(),
    autoUpgrade: Type.Boolean(),
    deployKey: Type.String({ description: 'The public deploy key: add it to the repository with read access' }),
    hostKeys: Type.Array(Type.String(), { description: 'Fingerprints of the pinned ssh host keys' }),
    hook: Nullable(
      Type.Object(
        { url: Type.String(), secret: Type.String() },
        { description: 'Push-to-deploy URL and secret (organization admins only)' },
      ),
    ),
    checkouts: Type.Array(Checkout),
    createdBy: Type.String(),
    createdAt: DateTime,
  },
  { title: 'Repository' },
);

export const Module = Type.Object(
  {
    name: Type.String(),
    title: Nullable(Type.String()),
    state: Type.String({
      description:
        'Odoo\'s state (installed, uninstalled, to upgrade, …), or "available": in a repository, not yet in Odoo\'s list',
    }),
    installedVersion: Nullable(Type.String()),
    availableVersion: Nullable(Type.String()),
    summary: Nullable(Type.String()),
    author: Nullable(Type.String()),
    application: Type.Boolean(),
    repository: Nullable(Type.String()),
  },
  { title: 'Module' },
);

export const ModulePlan = Type.Object(
  {
    install: Type.Array(Type.String()),
    upgrade: Type.Array(Type.String()),
    uninstall: Type.Array(Type.String()),
    alsoUninstalled: Type.Array(Type.String(), { description: 'Installed modules depending on those uninstalled' }),
    updateList: Type.Boolean(),
  },
  { title: 'ModulePlan' },
);

/** Which local (file://) repositories the platform allows. */
export const GitSettings = Type.Object(
  {
    fileRoot: Type.Union([Type.String(), Type.Null()], {
      description:
        "The folder of Marina's machine file:// repositories must be inside (its real path); null: no local repositories",
    }),
    fileRepositoryOrganizations: Type.Array(Uuid, {
      description: 'Organizations a platform admin lets use file:// repositories',
    }),
  },
  { title: 'GitSettings' },
);
