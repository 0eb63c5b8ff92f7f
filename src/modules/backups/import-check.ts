/**
 * What an uploaded file is and whether Marina imports it, decided from its content (never its
 * name): an Odoo backup zip, or a PostgreSQL custom-format dump from Odoo's database manager.
 * Anything else is refused saying what the file is and what Marina accepts.
 */
import { ACCEPTED, kindOfFile, refusalOf } from '../../adapters/archive/file-kind.js';
import {
  archiveVersion,
  type CustomDumpSummary,
  inspectCustomDump,
  maxArchiveVersionOf,
} from '../../adapters/archive/pg-custom-dump.js';
import { inspectOdooZip } from '../../adapters/archive/zip-reader.js';
import { ArchiveError, manifestMajor, type OdooManifest, parseManifest } from '../../odoo/backup-archive.js';
import { MarinaError } from '../../platform/errors.js';
import type { ImportLimits } from './import-limits.js';

export type CheckedUpload =
  | { format: 'zip'; kind: 'full' | 'database'; manifest: OdooManifest; version: string }
  | { format: 'dump'; kind: 'database'; manifest: OdooManifest; version: string; dump: CustomDumpSummary };

const invalid = (message: string) => new MarinaError('MARINA_E_ARCHIVE_INVALID', message);

/** ArchiveErrors of the readers become Marina's answers; anything else is passed on. */
function answer(error: unknown): unknown {
  if (!(error instanceof ArchiveError)) return error;
  return new MarinaError(
    error.reason === 'too-large' ? 'MARINA_E_ARCHIVE_TOO_LARGE' : 'MARINA_E_ARCHIVE_INVALID',
    error.message,
  );
}

/**
 * Checks an upload whole. `pgRestoreMajor` is the PostgreSQL major of the pg_restore that will
 * load a dump (undefined: the newest archive version this reader knows).
 */
export async function checkUpload(
  path: string,
  limits: ImportLimits,
  pgRestoreMajor: number | undefined,
): Promise<CheckedUpload> {
  const kind = await kindOfFile(path);
  if (kind === 'pg-custom') return checkDump(path, pgRestoreMajor);
  if (kind !== 'zip') throw new MarinaError('MARINA_E_IMPORT_NOT_A_BACKUP', refusalOf(kind));
  let summary: Awaited<ReturnType<typeof inspectOdooZip>>;
  try {
    // Sizes, entry count and ratios are checked here, inflating into nothing: the restore
    // that writes to the instance only ever sees an archive that passed.
    summary = await inspectOdooZip(path, limits);
  } catch (error) {
    throw answer(error);
  }
  if (!summary.hasDump)
    throw new MarinaError(
      'MARINA_E_IMPORT_NOT_A_BACKUP',
      `This file is a zip archive with no dump.sql (no database in it), not an Odoo backup. ${ACCEPTED}`,
    );
  if (summary.manifest === undefined)
    throw invalid(
      `This file is a zip archive with a dump.sql but no manifest.json: it was not made by Odoo's database manager or Odoo.sh. ${ACCEPTED}`,
    );
  let manifest: OdooManifest;
  try {
    manifest = parseManifest(summary.manifest);
  } catch (error) {
    throw answer(error);
  }
  const version = manifestMajor(manifest);
  if (!version) throw invalid(`manifest.json names an unknown Odoo version (${manifest.version}).`);
  return { format: 'zip', kind: summary.filestoreFiles > 0 ? 'full' : 'database', manifest, version };
}

async function checkDump(path: string, pgRestoreMajor: number | undefined): Promise<CheckedUpload> {
  let dump: CustomDumpSummary;
  try {
    dump = await inspectCustomDump(
      path,
      pgRestoreMajor === undefined ? archiveVersion(1, 16) : maxArchiveVersionOf(pgRestoreMajor),
    );
  } catch (error) {
    throw answer(error);
  }
  if (dump.baseVersion === undefined)
    throw new MarinaError(
      'MARINA_E_IMPORT_NOT_A_BACKUP',
      `This file is a PostgreSQL custom-format dump of a database that is not Odoo's (it has no installed base module in ir_module_module). ${ACCEPTED}`,
    );
  const version = /^(saas~)?(\d+)\.\d+/.exec(dump.baseVersion);
  if (!version) throw invalid(`The dump's base module has an unknown Odoo version (${dump.baseVersion}).`);
  const major = `${version[2]}.0`;
  // A .dump has no manifest: Marina writes the one Odoo's zip would have, from the dump itself.
  // Odoo writes pg_version from server_version_num / 100: "15.0" for any 15.x.
  const serverMajor = /^(\d+)/.exec(dump.serverVersion)?.[1];
  const manifest: OdooManifest = {
    odoo_dump: '1',
    db_name: dump.dbName,
    version: major,
    version_info: [Number(version[2]), 0, 0, 'final', 0, ''],
    major_version: major,
    pg_version: serverMajor ? `${serverMajor}.0` : '',
    modules: dump.modules,
  };
  return { format: 'dump', kind: 'database', manifest, version: major, dump };
}

/** The PostgreSQL major of an image reference's tag ("postgres:16", "postgres:15.4-alpine" → 16, 15). */
export function pgMajorOfImage(image: string): number | undefined {
  const tag = /:(\d+)(?:[.-][^/]*)?$/.exec(image);
  return tag ? Number(tag[1]) : undefined;
}
