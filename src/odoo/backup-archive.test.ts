import { describe, expect, it } from 'vitest';
import {
  ArchiveError,
  buildManifest,
  copyParameters,
  filestoreRelative,
  manifestMajor,
  parseManifest,
  pgVersionOf,
  safeEntryName,
} from './backup-archive.js';

describe("Odoo's backup archive", () => {
  it('writes pg_version as Odoo does (server_version_num / 100 as major.minor)', () => {
    expect(pgVersionOf(150020)).toBe('15.0');
    expect(pgVersionOf(160004)).toBe('16.0');
    expect(pgVersionOf(90624)).toBe('9.6');
  });

  it("builds a manifest with Odoo's fields", () => {
    const manifest = buildManifest({
      dbName: 'odoo_x',
      version: '17.0',
      serverVersionNum: 150020,
      modules: { base: '17.0.1.3', web: '17.0.1.0' },
    });
    expect(manifest).toEqual({
      odoo_dump: '1',
      db_name: 'odoo_x',
      version: '17.0',
      version_info: [17, 0, 0, 'final', 0, ''],
      major_version: '17.0',
      pg_version: '15.0',
      modules: { base: '17.0.1.3', web: '17.0.1.0' },
    });
  });

  it.each([
    ['../evil', 'a ".." segment'],
    ['filestore/../../etc/passwd', 'a ".." segment'],
    ['/etc/passwd', 'an absolute path'],
    ['C:/windows', 'a drive letter'],
    ['filestore\\ab\\x', 'a backslash'],
    ['a\0b', 'a NUL byte'],
    ['', 'an empty name'],
  ])('refuses the entry name %j (%s)', (name, problem) => {
    expect(() => safeEntryName(name)).toThrowError(ArchiveError);
    expect(() => safeEntryName(name)).toThrowError(problem);
  });

  it('accepts ordinary names, and maps filestore entries into the database folder', () => {
    expect(safeEntryName('./dump.sql')).toBe('dump.sql');
    expect(safeEntryName('filestore/ab/abcdef')).toBe('filestore/ab/abcdef');
    expect(safeEntryName('filestore/..hidden/x')).toBe('filestore/..hidden/x');
    expect(filestoreRelative('filestore/ab/abcdef')).toBe('ab/abcdef');
    expect(filestoreRelative('filestore/')).toBeUndefined();
    expect(filestoreRelative('dump.sql')).toBeUndefined();
  });

  it('reads manifests from Odoo, Odoo.sh (saas~ versions) and refuses what is not one', () => {
    expect(manifestMajor(parseManifest('{"db_name":"a","version":"17.0","major_version":"17.0"}'))).toBe('17.0');
    expect(manifestMajor(parseManifest('{"db_name":"a","version":"saas~17.2","major_version":"saas~17.2"}'))).toBe(
      '17.0',
    );
    expect(() => parseManifest('not json')).toThrowError(/not valid JSON/);
    expect(() => parseManifest('{"version":"17.0"}')).toThrowError(/db_name/);
  });

  it('gives a copy its own identity', () => {
    let n = 0;
    const params = copyParameters(new Date('2026-11-21T10:11:12.345Z'), 'http://x:20001', () => `uuid-${++n}`);
    expect(params).toEqual([
      ['database.uuid', 'uuid-1'],
      ['database.secret', 'uuid-2'],
      ['database.create_date', '2026-11-21 10:11:12'],
      ['web.base.url', 'http://x:20001'],
    ]);
  });
});
