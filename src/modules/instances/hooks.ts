import type { InstanceJobDeps } from './jobs.js';

/**
 * What other modules answer or do about an instance, declared here so the instances module calls
 * them without importing those modules (backups and code are wired after it). The signatures are
 * the ones the instance jobs call.
 */
export type InstanceHooks = {
  /** Before an instance with data is deleted (backups: the pre-delete safety backup). */
  beforeInstanceDelete: NonNullable<InstanceJobDeps['beforeDelete']>;
  /** The folders mounted into an instance's containers (code: its repository checkouts). */
  instanceMounts: NonNullable<InstanceJobDeps['addonsOf']>;
  /** Before Odoo first starts on an instance's database (code: clone what its project needs). */
  prepareAddons: NonNullable<InstanceJobDeps['prepareAddons']>;
  /** A new or copied database is ready, before Odoo starts on it (mail: its outgoing mail server). */
  databaseReady: NonNullable<InstanceJobDeps['databaseReady']>;
  /** After an instance's containers and volume are gone (code: its checkouts on Marina's disk). */
  removeAddons: NonNullable<InstanceJobDeps['removeAddons']>;
};
