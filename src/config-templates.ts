import type { FieldReader } from './config-edge.js';
import { integer } from './config-parse.js';

/** Template databases for fast provisioning (src/modules/instances/db-templates), and restores' undo; split from config.ts. */
export interface DatabaseTemplatesConfig {
  /** Off: every instance is initialized by Odoo itself (the cold path). */
  enabled: boolean;
  /** Templates kept per database server; the least recently used beyond it go. */
  maxPerServer: number;
  /** A template older than this is dropped and built again on its next need. */
  maxAgeDays: number;
}

export const templateFields = {
  enabled: {
    env: 'MARINA_DB_TEMPLATES',
    describe: 'on or off',
    parse: (raw: string) => ({ on: true, off: false })[raw.trim().toLowerCase() as 'on' | 'off'],
  },
  maxPerServer: {
    env: 'MARINA_DB_TEMPLATES_MAX',
    describe: 'an integer from 1 to 100 (templates per database server)',
    parse: integer(1, 100),
  },
  maxAgeDays: {
    env: 'MARINA_DB_TEMPLATES_MAX_AGE_DAYS',
    describe: 'an integer from 1 to 365 (days)',
    parse: integer(1, 365),
  },
  restoreUndoHours: {
    env: 'MARINA_RESTORE_UNDO_HOURS',
    describe: 'an integer from 0 to 720 (hours the data a restore replaced is kept for its undo; 0: not kept)',
    parse: integer(0, 720),
  },
};

export function readTemplatesConfig(read: FieldReader): {
  databaseTemplates: DatabaseTemplatesConfig;
  restoreUndoHours: number;
} {
  return {
    restoreUndoHours: read(templateFields.restoreUndoHours, 24),
    databaseTemplates: {
      enabled: read(templateFields.enabled, true),
      maxPerServer: read(templateFields.maxPerServer, 8),
      maxAgeDays: read(templateFields.maxAgeDays, 30),
    },
  };
}
