/**
 * What Odoo's backup archives look like, and Marina's own. Pure: no I/O.
 *
 * Odoo's zip (database manager, Odoo.sh): `dump.sql` (plain `pg_dump --no-owner`), `filestore/…`
 * (the database's filestore folder, hashed layout `ab/abcdef…`), `manifest.json`. Odoo restores it
 * with `psql -f dump.sql` and copies `filestore/*`; nothing else is read.
 *
 * Marina's native archive (`.tar.zst`): one tar, compressed with zstd as a whole, holding
 * `manifest.json` (Odoo's fields plus a `marina` block), `dump/` (a `pg_dump --format=directory`
 * dump, restored with parallel `pg_restore`) and `filestore/…` laid out as in the zip. An imported
 * `.dump` (Odoo's "pg_dump custom format (without filestore)") is kept as a native archive holding
 * `manifest.json` and the dump itself as `database.dump`, restored with `pg_restore` as well.
 */
import type { OdooVersion } from './versions.js';

export type ArchiveFormat = 'zip' | 'native';
export type ArchiveKind = 'full' | 'database' | 'filestore';

export interface OdooManifest {
  odoo_dump: '1';
  db_name: string;
  version: string;
  version_info: [number, number, number, string, number, string];
  major_version: string;
  pg_version: string;
  modules: Record<string, string>;
  marina?: { layout: 1; format: ArchiveFormat; kind: ArchiveKind; createdAt: string; instance: string };
}

export const MANIFEST = 'manifest.json';
export const DUMP_SQL = 'dump.sql';
export const DUMP_DIR = 'dump/';
/** A pg_dump custom-format dump (an imported `.dump`), in a native archive. */
export const DUMP_CUSTOM = 'database.dump';
export const FILESTORE_DIR = 'filestore/';

/** Odoo writes `pg_version` as "major.minor" of server_version_num / 100 (150020 → "15.0"). */
export function pgVersionOf(serverVersionNum: number): string {
  const hundredths = Math.floor(serverVersionNum / 100);
  return `${Math.floor(hundredths / 100)}.${hundredths % 100}`;
}

export function buildManifest(input: {
  dbName: string;
  version: OdooVersion;
  serverVersionNum: number;
  modules: Record<string, string>;
  marina?: OdooManifest['marina'];
}): OdooManifest {
  const major = Number.parseInt(input.version, 10);
  return {
    odoo_dump: '1',
    db_name: input.dbName,
    version: input.version,
    version_info: [major, 0, 0, 'final', 0, ''],
    major_version: input.version,
    pg_version: pgVersionOf(input.serverVersionNum),
    modules: input.modules,
    ...(input.marina ? { marina: input.marina } : {}),
  };
}

export class ArchiveError extends Error {
  constructor(
    readonly reason:
      | 'unsafe-path'
      | 'no-manifest'
      | 'no-dump'
      | 'bad-manifest'
      | 'corrupt'
      | 'version'
      | 'unsafe-sql'
      | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/**
 * An archive entry's name, checked before anything is extracted: relative, forward slashes, no
 * `..`, no NUL, no drive letter — a zip-slip attempt is refused, never "cleaned up".
 */
export function safeEntryName(name: string): string {
  const problem =
    name.length === 0
      ? 'an empty name'
      : name.includes('\0')
        ? 'a NUL byte'
        : name.includes('\\')
          ? 'a backslash'
          : name.startsWith('/')
            ? 'an absolute path'
            : /^[A-Za-z]:/.test(name)
              ? 'a drive letter'
              : name.split('/').some((part) => part === '..')
                ? 'a ".." segment'
                : undefined;
  if (problem) {
    throw new ArchiveError(
      'unsafe-path',
      `The archive holds an entry named ${JSON.stringify(name.slice(0, 200))} with ${problem}; it could write outside its folder, so the archive is refused.`,
    );
  }
  return name.replace(/^(\.\/)+/, '');
}

/** Where a `filestore/…` entry goes inside the database's filestore folder, or undefined for other entries. */
export function filestoreRelative(name: string): string | undefined {
  if (!name.startsWith(FILESTORE_DIR)) return undefined;
  const rest = name.slice(FILESTORE_DIR.length);
  return rest === '' ? undefined : rest;
}

/** Reads and checks a manifest's text: it must be JSON with Odoo's fields. */
export function parseManifest(text: string): OdooManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ArchiveError('bad-manifest', 'manifest.json is not valid JSON.');
  }
  const m = value as Partial<OdooManifest> | null;
  if (!m || typeof m !== 'object' || typeof m.db_name !== 'string' || typeof m.version !== 'string') {
    throw new ArchiveError('bad-manifest', 'manifest.json lacks db_name or version: it was not made by Odoo.');
  }
  if (m.modules !== undefined && (typeof m.modules !== 'object' || m.modules === null)) {
    throw new ArchiveError('bad-manifest', 'manifest.json has modules that are not an object.');
  }
  return m as OdooManifest;
}

/** The major version a manifest was made with ("17.0"), from major_version or version. */
export function manifestMajor(m: OdooManifest): string | undefined {
  const raw = m.major_version ?? m.version;
  const match = /^(saas~)?(\d+)(\.\d+)?/.exec(raw);
  return match ? `${match[2]}.0` : undefined;
}

/** Parameters a copy must not share with its source (ARCHITECTURE.md, "Odoo facts"). */
export function copyParameters(now: Date, url: string | null, uuid: () => string): [string, string][] {
  const params: [string, string][] = [
    ['database.uuid', uuid()],
    ['database.secret', uuid()],
    // Odoo's own format: fields.Datetime, UTC, seconds.
    ['database.create_date', now.toISOString().replace('T', ' ').slice(0, 19)],
  ];
  if (url) params.push(['web.base.url', url]);
  return params;
}
