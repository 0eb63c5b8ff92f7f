import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addonChecksums, changedAddons } from './addon-checksums.js';
import { adaptVersion, scanAddons } from './addons.js';
import { parseManifest } from './manifest-parser.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'marina-addons-test-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function tree(base: string, files: Record<string, string>): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(base, path)), { recursive: true });
    await writeFile(join(base, path), content);
  }
  return base;
}

describe('parseManifest', () => {
  it('reads the literal fields of a typical manifest', () => {
    const manifest = `# Copyright 2024 Acme
# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Web Responsive",
    'summary': 'Responsive web client, '
               "community-maintained",
    "version": "17.0.1.0.2",
    "author": "LasLabs, Tecnativa, "  # trailing comment
              "Odoo Community Association (OCA)",
    "license": "LGPL-3",
    "installable": True,
    "application": False,
    "auto_install": None,
    "sequence": 10,
    "price": -9.5,
    "depends": ["web", 'mail',],
    "data": (
        "views/a.xml",
    ),
    "assets": {
        "web.assets_backend": [
            "web_responsive/static/src/**/*.scss",
            ("remove", "web/static/x.js"),
        ],
    },
    "external_dependencies": {"python": []},
}
`;
    expect(parseManifest(manifest)).toEqual({
      name: 'Web Responsive',
      summary: 'Responsive web client, community-maintained',
      version: '17.0.1.0.2',
      author: 'LasLabs, Tecnativa, Odoo Community Association (OCA)',
      license: 'LGPL-3',
      installable: true,
      application: false,
      auto_install: null,
      sequence: 10,
      price: -9.5,
      depends: ['web', 'mail'],
      data: ['views/a.xml'],
      assets: {
        'web.assets_backend': ['web_responsive/static/src/**/*.scss', ['remove', 'web/static/x.js']],
      },
      external_dependencies: { python: [] },
    });
  });

  it('reads escapes, prefixes and triple-quoted strings like Python', () => {
    expect(
      parseManifest(String.raw`{
        'a': 'it\'s "q" \\ \t\x41\u00e9\U0001F600\101',
        "b": r'C:\path\n',
        'c': u"unicode",
        'd': """multi
line""",
        'e': '''x''' 'y',
        'f': 'line \
continued',
        'g': ('paren' 'thesised'),
        'h': 0x1F,
        'i': 1_000,
        'j': 1e3,
        'k': 'unknown \q escape',
      }`),
    ).toEqual({
      a: 'it\'s "q" \\ \tAé😀A',
      b: 'C:\\path\\n',
      c: 'unicode',
      d: 'multi\nline',
      e: 'xy',
      f: 'line continued',
      g: 'parenthesised',
      h: 31,
      i: 1000,
      j: 1000,
      k: 'unknown \\q escape',
    });
  });

  it('skips keys whose values are not literals, and never runs anything', () => {
    const manifest = `{
      'name': 'Tricky',
      'version': __import__('os').system('touch /tmp/pwned') or '1.0',
      'summary': 'a' + 'b',
      'data': [x for x in range(3)],
      'author': f'{name}',
      'website': b'bytes',
      'depends': ['base'],
      'description': open('README.rst').read(),
      'installable': True,
    }`;
    expect(parseManifest(manifest)).toEqual({ name: 'Tricky', depends: ['base'], installable: true });
  });

  it('gives an empty object for text without a dict, and never throws (property)', () => {
    expect(parseManifest('')).toEqual({});
    expect(parseManifest('print("hello")')).toEqual({});
    expect(parseManifest("{'name': 'unterminated")).toEqual({});
    expect(parseManifest(`{'a': ${'['.repeat(100)}${']'.repeat(100)}, 'b': 1}`)).toEqual({ b: 1 });
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const parsed = parseManifest(`{${text}}`);
        expect(typeof parsed).toBe('object');
      }),
      { numRuns: 2000 },
    );
  });

  it('cannot pollute prototypes through a key', () => {
    const parsed = parseManifest("{'__proto__': {'polluted': True}, 'constructor': 1}");
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });

  it('round-trips JSON-like data written as a Python literal (property)', () => {
    const key = fc.string({ maxLength: 8 });
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null)),
      node: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(key, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    const python = (v: unknown): string => {
      if (v === null) return 'None';
      if (v === true) return 'True';
      if (v === false) return 'False';
      if (typeof v === 'number') return String(v);
      // JSON string escapes are Python string escapes.
      if (typeof v === 'string') return JSON.stringify(v);
      if (Array.isArray(v)) return `[${v.map(python).join(', ')}]`;
      return `{${Object.entries(v as object)
        .map(([k, x]) => `${JSON.stringify(k)}: ${python(x)}`)
        .join(', ')}}`;
    };
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 5 }), (dict) => {
        expect(parseManifest(python(dict))).toEqual(dict);
      }),
      { numRuns: 500 },
    );
  });
});

describe('scanAddons', () => {
  it('finds addons one and two levels down and the addons_path entries', async () => {
    const base = await tree(join(root, 'mixed'), {
      'README.md': '',
      'web_a/__manifest__.py': "{'name': 'A', 'version': '17.0.1.0.0', 'summary': 'Sum', 'author': 'Acme'}",
      'web_b/__manifest__.py': "{'name': 'B', 'installable': False, 'application': True}",
      'web_b/__init__.py': '',
      'group/sale_x/__manifest__.py': "{'name': 'X', 'author': ['Ann', 'Bob']}",
      'group/not_addon/README': '',
      'Bad-Name/__manifest__.py': '{}',
      'broken/__manifest__.py': 'not a manifest',
      '.hidden/secret/__manifest__.py': '{}',
      'setup/web_a/setup.py': '',
      'deep/a/b/__manifest__.py': '{}',
    });
    const scan = await scanAddons(base);
    expect(scan.rootIsAddon).toBe(false);
    expect(scan.paths).toEqual(['.', 'group']);
    expect(scan.addons).toEqual([
      {
        name: 'sale_x',
        path: 'group/sale_x',
        version: null,
        title: 'X',
        summary: null,
        author: 'Ann, Bob',
        application: false,
        installable: true,
      },
      {
        name: 'web_a',
        path: 'web_a',
        version: '17.0.1.0.0',
        title: 'A',
        summary: 'Sum',
        author: 'Acme',
        application: false,
        installable: true,
      },
      {
        name: 'web_b',
        path: 'web_b',
        version: null,
        title: 'B',
        summary: null,
        author: null,
        application: true,
        installable: false,
      },
    ]);
    expect(scan.skipped).toEqual([
      { path: 'Bad-Name', reason: expect.stringMatching(/not a valid Odoo module name/), unreadable: false },
      { path: 'broken', reason: expect.stringMatching(/dict literal/), unreadable: true },
    ]);
  });

  it('says when the root itself is an addon', async () => {
    const base = await tree(join(root, 'my_addon'), {
      '__manifest__.py': "{'name': 'Mine', 'version': '1.0'}",
      'sub/__manifest__.py': '{}',
    });
    const scan = await scanAddons(base);
    expect(scan).toMatchObject({ rootIsAddon: true, paths: [], skipped: [] });
    expect(scan.addons).toEqual([expect.objectContaining({ name: 'my_addon', path: '.', version: '1.0' })]);
  });

  it('does not follow symlinked folders or manifests', async () => {
    const outside = await tree(join(root, 'outside'), { 'evil_addon/__manifest__.py': "{'name': 'Evil'}" });
    const base = await tree(join(root, 'links'), { 'real_addon/__manifest__.py': '{}' });
    await symlink(join(outside, 'evil_addon'), join(base, 'evil_addon'));
    await mkdir(join(base, 'linked_manifest'));
    await symlink(join(outside, 'evil_addon/__manifest__.py'), join(base, 'linked_manifest/__manifest__.py'));
    const scan = await scanAddons(base);
    expect(scan.addons.map((a) => a.name)).toEqual(['real_addon']);
  });

  it('gives an empty scan for a folder without addons or that does not exist', async () => {
    expect(await scanAddons(await tree(join(root, 'empty'), { 'README.md': '' }))).toEqual({
      addons: [],
      paths: [],
      rootIsAddon: false,
      skipped: [],
    });
    expect((await scanAddons(join(root, 'missing'))).addons).toEqual([]);
  });
});

describe('addonChecksums and changedAddons', () => {
  it('changes with code, data and manifests, and not with bytecode, templates or dot-files', async () => {
    const base = await tree(join(root, 'sums'), {
      'a_mod/__manifest__.py': "{'name': 'A'}",
      'a_mod/models/a.py': 'x = 1\n',
      'a_mod/i18n/a_mod.pot': 'msgid ""',
      'a_mod/i18n/fr.po': 'msgid "x"',
      'b_mod/__manifest__.py': "{'name': 'B'}",
      'b_mod/views/b.xml': '<odoo/>',
    });
    const sums = async () => addonChecksums(base, (await scanAddons(base)).addons);
    const before = await sums();
    expect(Object.keys(before)).toEqual(['a_mod', 'b_mod']);
    expect(before.a_mod).toMatch(/^[0-9a-f]{64}$/);
    expect(await sums()).toEqual(before);

    await tree(base, {
      'a_mod/__pycache__/a.cpython-311.pyc': 'bytecode',
      'a_mod/models/a.pyc': 'bytecode',
      'a_mod/models/a.pyo': 'bytecode',
      'a_mod/i18n/a_mod.pot': 'msgid "changed template"',
      'a_mod/.editorconfig': 'x',
      'a_mod/.git/HEAD': 'ref',
    });
    expect(await sums()).toEqual(before);

    await tree(base, { 'a_mod/i18n/fr.po': 'msgid "y"' });
    const translated = await sums();
    expect(changedAddons(before, translated)).toEqual({ changed: ['a_mod'], added: [], removed: [] });

    // A rename with the same content is a change.
    await rm(join(base, 'b_mod/views/b.xml'));
    await tree(base, { 'b_mod/views/c.xml': '<odoo/>' });
    const renamed = await sums();
    expect(changedAddons(translated, renamed).changed).toEqual(['b_mod']);

    // A symlink counts as where it points, without being followed.
    await symlink('/etc/hostname', join(base, 'b_mod/link'));
    const linked = await sums();
    expect(linked.b_mod).not.toBe(renamed.b_mod);
  });

  it('tells added, removed and changed addons apart', () => {
    expect(changedAddons({ a: '1', b: '2', c: '3' }, { a: '1', b: '9', d: '4' })).toEqual({
      changed: ['b'],
      added: ['d'],
      removed: ['c'],
    });
    expect(changedAddons({}, {})).toEqual({ changed: [], added: [], removed: [] });
    expect(changedAddons({ constructor: 'x' }, {})).toEqual({ changed: [], added: [], removed: ['constructor'] });
    expect(changedAddons({}, { toString: 'x' })).toEqual({ changed: [], added: ['toString'], removed: [] });
  });
});

describe('adaptVersion', () => {
  it("matches Odoo's adapt_version", () => {
    expect(adaptVersion('17.0', '1.0')).toBe('17.0.1.0');
    expect(adaptVersion('17.0', '1.0.3')).toBe('17.0.1.0.3');
    expect(adaptVersion('17.0', '17.0.1.0.0')).toBe('17.0.1.0.0');
    expect(adaptVersion('17.0', '17.0')).toBe('17.0.17.0');
    expect(adaptVersion('17.0', '16.0.1.0.0')).toBe('17.0.16.0.1.0.0');
    expect(adaptVersion('saas~17.1', 'saas~17.1.1.0')).toBe('saas~17.1.1.0');
  });
});
