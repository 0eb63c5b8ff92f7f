import type { Migration } from 'kysely';
import * as foundation from './0001_foundation.js';
import * as operations from './0002_operations.js';
import * as instances from './0003_instances.js';
import * as backups from './0004_backups.js';
import * as offsite from './0005_offsite.js';
import * as repositories from './0006_repositories.js';

/** Every migration, in order. Names are permanent: they are recorded in Marina's database. */
export const migrations: Record<string, Migration> = {
  '0001_foundation': foundation,
  '0002_operations': operations,
  '0003_instances': instances,
  '0004_backups': backups,
  '0005_offsite': offsite,
  '0006_repositories': repositories,
};
