import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorDocsPath, renderErrorDocs } from '../../scripts/generate-error-docs.js';
import { type ErrorCode, errorCatalog, errorGroups } from './errors.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const codes = Object.keys(errorCatalog) as ErrorCode[];

/** Every source file of the server and the UI, except the catalogue itself and tests. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    if (!/\.tsx?$/.test(entry.name) || /\.test\.tsx?$/.test(entry.name)) return [];
    return relative(root, path) === join('src', 'platform', 'errors.ts') ? [] : [path];
  });
}

describe('the error catalogue', () => {
  const doc = readFileSync(errorDocsPath, 'utf8');

  it('docs/errors.md is what `npm run gen:errors` writes now', () => {
    expect(doc).toBe(renderErrorDocs());
  });

  it('documents every code', () => {
    const missing = codes.filter((code) => !doc.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('documents only codes that exist', () => {
    const documented = [...doc.matchAll(/`(MARINA_E_[A-Z0-9_]+)`/g)].map((match) => match[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.filter((code) => !(code && code in errorCatalog))).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('has only codes used under src/ or web/src outside the catalogue and tests', () => {
    const sources = [...sourceFiles(join(root, 'src')), ...sourceFiles(join(root, 'web', 'src'))].map((path) =>
      readFileSync(path, 'utf8'),
    );
    expect(sources.length).toBeGreaterThan(100);
    const unused = codes.filter((code) => !sources.some((text) => new RegExp(`\\b${code}\\b`).test(text)));
    expect(unused).toEqual([]);
  });

  it('gives every code a hint and a known group', () => {
    for (const code of codes) {
      const { hint, group } = errorCatalog[code];
      expect(hint.trim(), code).not.toBe('');
      expect(Object.keys(errorGroups), code).toContain(group);
    }
  });
});
