import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  downstreamDependencies,
  listModules,
  MODULE_SCRIPT,
  type ModuleAction,
  type ModuleRow,
  moduleCommand,
  moduleOutcomeProblems,
  translatedText,
} from './modules.js';

const CONF = '/etc/odoo/odoo.conf';
const none: ModuleAction = { install: [], upgrade: [], uninstall: [], updateList: false };

/** A client that answers one canned result and remembers the query (the SQL runs for real in test/odoo/). */
function fakeClient(rows: unknown[]) {
  const seen: { text: string; values: unknown[] | undefined }[] = [];
  const client = {
    query: async (text: string, values?: unknown[]) => {
      seen.push({ text, values });
      return { rows };
    },
  } as unknown as pg.ClientBase;
  return { client, seen };
}

describe('moduleCommand', () => {
  it('installs and upgrades in one odoo run with --stop-after-init and --no-http, names sorted and deduplicated', () => {
    expect(
      moduleCommand(
        { ...none, install: ['sale_custom', 'crm_extra', 'sale_custom'], upgrade: ['stock_x'] },
        CONF,
        'odoo_1',
      ),
    ).toEqual([
      {
        step: 'install crm_extra, sale_custom, upgrade stock_x',
        cmd: [
          'odoo',
          '-c',
          CONF,
          '-d',
          'odoo_1',
          '-i',
          'crm_extra,sale_custom',
          '-u',
          'stock_x',
          '--stop-after-init',
          '--no-http',
        ],
        env: {},
      },
    ]);
  });

  it('uninstalls first with the fixed script, the names only in the environment', () => {
    const runs = moduleCommand(
      { install: ['b_new'], upgrade: [], uninstall: ['z_old', 'a_old'], updateList: true },
      CONF,
      'db',
    );
    expect(runs.map((r) => r.cmd[0])).toEqual(['python3', 'odoo']);
    const [script] = runs;
    expect(script?.cmd).toEqual(['python3', '-c', MODULE_SCRIPT, '-c', CONF, '-d', 'db', '--no-http']);
    expect(script?.env).toEqual({
      MARINA_MODULES: 'a_old,z_old',
      MARINA_UPDATE_LIST: '1',
      MARINA_ODOO_SOURCE: '/opt/odoo',
    });
    expect(script?.step).toBe('update the apps list, then uninstall a_old, z_old');
    expect(runs[1]?.cmd).toEqual(['odoo', '-c', CONF, '-d', 'db', '-i', 'b_new', '--stop-after-init', '--no-http']);
    // The script text is the same whatever the names: nothing is interpolated into code.
    const other = moduleCommand({ ...none, uninstall: ['x'] }, CONF, 'other_db', { odooSource: '/src/odoo' });
    expect(other[0]?.cmd[2]).toBe(MODULE_SCRIPT);
    expect(other[0]?.env.MARINA_ODOO_SOURCE).toBe('/src/odoo');
    expect(MODULE_SCRIPT).not.toMatch(/a_old|z_old|\$\{/);
  });

  it('updates the apps list with the script alone, or lets the -i/-u run do it (Odoo updates the list there itself)', () => {
    expect(moduleCommand({ ...none, updateList: true }, CONF, 'db')).toEqual([
      {
        step: 'update the apps list',
        cmd: ['python3', '-c', MODULE_SCRIPT, '-c', CONF, '-d', 'db', '--no-http'],
        env: { MARINA_MODULES: '', MARINA_UPDATE_LIST: '1', MARINA_ODOO_SOURCE: '/opt/odoo' },
      },
    ]);
    const withInstall = moduleCommand({ ...none, updateList: true, install: ['new_addon'] }, CONF, 'db');
    expect(withInstall.map((r) => r.cmd[0])).toEqual(['odoo']);
    expect(moduleCommand(none, CONF, 'db')).toEqual([]);
  });

  it('refuses names that are not module names, before anything runs', () => {
    for (const bad of ['Sale', 'sale-x', 'a,b', '-i', '--init=all', 'a b', '../x', 'x;id', '', 'é', 'a'.repeat(101)]) {
      for (const list of ['install', 'upgrade', 'uninstall'] as const) {
        expect(() => moduleCommand({ ...none, [list]: [bad] }, CONF, 'db'), `${list} ${bad}`).toThrow(/module name/);
      }
    }
    expect(() => moduleCommand({ ...none, install: [42 as unknown as string] }, CONF, 'db')).toThrow(/module name/);
  });

  it('refuses base, web and "all" where Odoo would do something else than asked, and contradictions', () => {
    expect(() => moduleCommand({ ...none, uninstall: ['base'] }, CONF, 'db')).toThrow(/base cannot/);
    expect(() => moduleCommand({ ...none, uninstall: ['web'] }, CONF, 'db')).toThrow(/web cannot/);
    expect(() => moduleCommand({ ...none, install: ['all'] }, CONF, 'db')).toThrow(/"all"/);
    expect(() => moduleCommand({ ...none, uninstall: ['all'] }, CONF, 'db')).toThrow(/"all"/);
    expect(moduleCommand({ ...none, upgrade: ['all'] }, CONF, 'db')[0]?.cmd).toContain('all');
    expect(() => moduleCommand({ ...none, install: ['x'], uninstall: ['x'] }, CONF, 'db')).toThrow(/uninstall and/);
  });

  it('refuses a database name or config path that could be read as something else', () => {
    for (const db of ['-i', '--load=x', '', 'a b', 'a;b', 'x'.repeat(64), 'db\n']) {
      expect(() => moduleCommand({ ...none, install: ['x'] }, CONF, db), db).toThrow(/database name/);
    }
    for (const conf of ['odoo.conf', '-c', '/etc/odoo/odoo.conf\n-d']) {
      expect(() => moduleCommand({ ...none, install: ['x'] }, conf, 'db'), conf).toThrow(/absolute path/);
    }
  });
});

describe('the module script', () => {
  it('reads its data from the environment and argv only, and exits non-zero on failure', () => {
    expect(MODULE_SCRIPT).toContain('os.environ.get("MARINA_MODULES"');
    expect(MODULE_SCRIPT).toContain('config.parse_config(sys.argv[1:]');
    expect(MODULE_SCRIPT).toContain('button_immediate_uninstall()');
    expect(MODULE_SCRIPT).toContain('update_list()');
    expect(MODULE_SCRIPT).toContain('sys.exit(code)');
    // It checks the names again with the same rule.
    expect(MODULE_SCRIPT).toContain('re.compile(r"[a-z0-9_]{1,100}")');
    // No eval/exec of anything it reads.
    expect(MODULE_SCRIPT).not.toMatch(/\b(eval|exec)\(/);
  });
});

describe('reading modules', () => {
  it('returns English text from jsonb translations, else the first one, and plain text as it is', () => {
    expect(translatedText({ en_US: 'Sales', fr_FR: 'Ventes' })).toBe('Sales');
    expect(translatedText({ fr_FR: 'Ventes', de_DE: 'Verkauf' })).toBe('Ventes');
    expect(translatedText({ en_US: '', fr_FR: 'Ventes' })).toBe('Ventes');
    expect(translatedText('Sales (Odoo 15 and older)')).toBe('Sales (Odoo 15 and older)');
    for (const empty of [null, undefined, '', {}, { en_US: null }, ['x'], 3]) expect(translatedText(empty)).toBeNull();
  });

  it('maps ir_module_module rows (latest_version is the installed version)', async () => {
    const { client, seen } = fakeClient([
      {
        name: 'sale',
        state: 'installed',
        latest_version: '17.0.1.2',
        shortdesc: { en_US: 'Sales' },
        summary: { en_US: 'From quotations to invoices' },
        author: 'Odoo S.A.',
        application: true,
      },
      {
        name: 'old',
        state: 'uninstalled',
        latest_version: null,
        shortdesc: 'Old plain text',
        summary: null,
        author: '',
        application: null,
      },
    ]);
    expect(await listModules(client)).toEqual([
      {
        name: 'sale',
        state: 'installed',
        installedVersion: '17.0.1.2',
        shortdesc: 'Sales',
        summary: 'From quotations to invoices',
        author: 'Odoo S.A.',
        application: true,
      },
      {
        name: 'old',
        state: 'uninstalled',
        installedVersion: null,
        shortdesc: 'Old plain text',
        summary: null,
        author: null,
        application: false,
      },
    ]);
    expect(seen[0]?.text).toMatch(/FROM ir_module_module ORDER BY name/);
  });

  it('asks downstream dependencies with the names as a parameter, and refuses bad names', async () => {
    const { client, seen } = fakeClient([{ name: 'sale_custom' }]);
    expect(await downstreamDependencies(client, ['sale', 'sale'])).toEqual(['sale_custom']);
    expect(seen[0]?.values).toEqual([['sale']]);
    expect(seen[0]?.text).toMatch(/WITH RECURSIVE/);
    expect(await downstreamDependencies(client, [])).toEqual([]);
    await expect(downstreamDependencies(client, ["x') OR 1=1 --"])).rejects.toThrow(/module name/);
  });
});

describe('moduleOutcomeProblems', () => {
  const row = (name: string, state: ModuleRow['state']): ModuleRow => ({
    name,
    state,
    installedVersion: null,
    shortdesc: null,
    summary: null,
    author: null,
    application: false,
  });

  it('is empty when every module is as asked', () => {
    const rows = [row('a', 'installed'), row('b', 'installed'), row('c', 'uninstalled'), row('d', 'uninstalled')];
    expect(
      moduleOutcomeProblems({ install: ['a'], upgrade: ['b', 'all'], uninstall: ['c'], updateList: false }, rows),
    ).toEqual([]);
  });

  it('names what Odoo left undone, including a module left to upgrade by a run that exited 0', () => {
    const rows = [row('a', 'uninstalled'), row('b', 'to upgrade'), row('c', 'installed'), row('x', 'to remove')];
    expect(
      moduleOutcomeProblems({ install: ['a', 'ghost'], upgrade: ['b'], uninstall: ['c'], updateList: false }, rows),
    ).toEqual([
      'a: uninstalled (not installed)',
      'ghost: not in the apps list (not installed)',
      'b: to upgrade (not upgraded)',
      'c: installed (not uninstalled)',
      'x: left to remove',
    ]);
  });
});
