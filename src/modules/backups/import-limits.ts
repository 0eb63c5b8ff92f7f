import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { invalid } from '../../platform/validation.js';
import { saveSetting } from '../settings/setting-rows.js';
import type { ImportLimits as ImportLimitsSchema } from './schemas.js';

/** The import limits as the API answers them (the `ImportLimits` schema); the archive reader takes them as they are. */
export type ImportLimits = Static<typeof ImportLimitsSchema>;

const KEY = 'imports';
const GIB = 1024 ** 3;

/**
 * A platform-wide cap for now; later relative to the organization's plan. 20 GiB inflated holds a
 * large Odoo; a pg_dump compresses about 8:1 (the Odoo 17 fixture's dump.sql) and attachments
 * hardly at all, so 100:1 leaves a wide margin while a zip of zeros (about 1000:1) is refused.
 */
export const defaultImportLimits: ImportLimits = {
  maxUncompressedBytes: 20 * GIB,
  maxEntries: 500_000,
  maxCompressionRatio: 100,
};

export const importLimitBounds = {
  maxUncompressedBytes: { min: 1024 * 1024, max: 16 * 1024 * GIB },
  maxEntries: { min: 10, max: 10_000_000 },
  maxCompressionRatio: { min: 2, max: 100_000 },
} as const;

type Field = keyof ImportLimits;
const fields: Field[] = ['maxUncompressedBytes', 'maxEntries', 'maxCompressionRatio'];

function requireLimit(value: unknown, field: Field): number {
  const { min, max } = importLimitBounds[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw invalid(field, `${field} must be a whole number from ${min} to ${max}.`);
  return value;
}

export interface ImportLimitsServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

/**
 * What an imported archive may hold, and the one-import-at-a-time rule of each organization.
 * Platform admins change the limits; anyone signed in may read them (the import page shows them).
 */
export class ImportLimitsService {
  /** Organizations with an upload being received or checked in this process. */
  private readonly uploading = new Set<string>();

  constructor(private readonly deps: ImportLimitsServiceDeps) {}

  async get(): Promise<ImportLimits> {
    const row = await this.deps.db.selectFrom('settings').select('value').where('key', '=', KEY).executeTakeFirst();
    const stored = row?.value ?? {};
    const limits = { ...defaultImportLimits };
    for (const field of fields) {
      const value = stored[field];
      // A damaged value falls back to the default rather than lifting the cap.
      if (typeof value === 'number' && Number.isSafeInteger(value)) limits[field] = value;
    }
    return limits;
  }

  /** Partial change: fields left out keep their value. */
  async set(ctx: RequestContext, input: Partial<Record<Field, unknown>>): Promise<ImportLimits> {
    requirePlatformAdmin(ctx.actor);
    const current = await this.get();
    const next = { ...current };
    for (const field of fields) if (input[field] !== undefined) next[field] = requireLimit(input[field], field);
    await saveSetting({ db: this.deps.db, audit: this.deps.audit, clock: this.deps.clock }, ctx, KEY, next, {
      action: 'settings.update',
      target: { type: 'settings', id: KEY, label: 'Imports' },
      details: { before: { ...current }, after: { ...next } },
    });
    return next;
  }

  /**
   * Takes the organization's import slot, or refuses with 409: one upload at a time, and none
   * while an earlier import's restore still runs. The returned function gives the slot back.
   */
  async begin(organizationId: string): Promise<() => void> {
    if (this.uploading.has(organizationId)) throw busy('Another import is being uploaded for this organization.');
    this.uploading.add(organizationId);
    try {
      const running = await this.deps.db
        .selectFrom('backups')
        .innerJoin('operations', 'operations.id', 'backups.operation_id')
        .select('operations.id')
        .where('backups.organization_id', '=', organizationId)
        .where('backups.trigger', '=', 'import')
        .where('operations.status', 'in', ['queued', 'running'])
        .executeTakeFirst();
      if (running)
        throw busy('An earlier import of this organization is still being restored; wait for its job to end.', {
          job: running.id,
        });
    } catch (error) {
      this.uploading.delete(organizationId);
      throw error;
    }
    return () => {
      this.uploading.delete(organizationId);
    };
  }
}

const busy = (message: string, details: Record<string, unknown> = {}) =>
  new MarinaError('MARINA_E_IMPORT_BUSY', message, details);
