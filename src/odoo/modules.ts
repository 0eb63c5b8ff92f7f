import type pg from 'pg';

/**
 * Odoo's modules: read from `ir_module_module`, and changed by one-off Odoo runs whose commands
 * are built here as argument arrays (no shell, no stdin; module names only ever travel as data).
 *
 * Checked against the Odoo 17, 18 and 19 sources and verified on real Odoo 17, 18 and 19
 * (test/odoo/module-commands.test.ts).
 */

/** Odoo's technical module names, as Marina accepts them (checked again inside the Odoo run). */
export const MODULE_NAME = /^[a-z0-9_]+$/;
const MAX_MODULE_NAME = 100;

export type ModuleState = 'uninstallable' | 'uninstalled' | 'installed' | 'to upgrade' | 'to remove' | 'to install';

/** States Odoo leaves behind only while (or when) a module operation did not finish. */
export const TRANSIENT_STATES: readonly ModuleState[] = ['to install', 'to upgrade', 'to remove'];

export interface ModuleRow {
  name: string;
  state: ModuleState;
  /**
   * `ir_module_module.latest_version`: the version installed in the database (null when never
   * installed). Odoo's naming is backwards: its computed `installed_version` is the one on disk.
   */
  installedVersion: string | null;
  /** The manifest's `name` (English). */
  shortdesc: string | null;
  summary: string | null;
  author: string | null;
  application: boolean;
}

/**
 * Text of a translatable column: since Odoo 16 `shortdesc`/`summary` are jsonb
 * `{"en_US": "...", "fr_FR": "..."}` (node-postgres parses jsonb into an object), before that
 * plain varchar. English first, else the first translation.
 */
export function translatedText(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const translations = value as Record<string, unknown>;
  const english = translations.en_US;
  if (typeof english === 'string' && english !== '') return english;
  const first = Object.values(translations).find((v): v is string => typeof v === 'string' && v !== '');
  return first ?? null;
}

/** Every module Odoo knows in that database (its "apps list"), by name. */
export async function listModules(client: pg.ClientBase): Promise<ModuleRow[]> {
  const result = await client.query<{
    name: string;
    state: ModuleState;
    latest_version: string | null;
    shortdesc: unknown;
    summary: unknown;
    author: string | null;
    application: boolean | null;
  }>('SELECT name, state, latest_version, shortdesc, summary, author, application FROM ir_module_module ORDER BY name');
  return result.rows.map((r) => ({
    name: r.name,
    state: r.state,
    installedVersion: r.latest_version || null,
    shortdesc: translatedText(r.shortdesc),
    summary: translatedText(r.summary),
    author: r.author || null,
    application: r.application === true,
  }));
}

/**
 * The modules that depend, directly or through others, on the given ones and would be uninstalled
 * with them: Odoo's `downstream_dependencies()` (what `button_uninstall` marks `to remove`), i.e.
 * the walk goes through modules in any state but uninstalled, uninstallable and to remove.
 * The given modules themselves are not in the answer. Sorted by name.
 */
export async function downstreamDependencies(client: pg.ClientBase, names: readonly string[]): Promise<string[]> {
  const wanted = requireModuleNames(names, 'downstreamDependencies');
  if (wanted.length === 0) return [];
  const result = await client.query<{ name: string }>(
    `WITH RECURSIVE downstream(name) AS (
       SELECT m.name
         FROM ir_module_module_dependency d
         JOIN ir_module_module m ON m.id = d.module_id
        WHERE d.name = ANY($1::text[])
          AND m.state NOT IN ('uninstalled', 'uninstallable', 'to remove')
       UNION
       SELECT m.name
         FROM downstream s
         JOIN ir_module_module_dependency d ON d.name = s.name
         JOIN ir_module_module m ON m.id = d.module_id
        WHERE m.state NOT IN ('uninstalled', 'uninstallable', 'to remove')
     )
     SELECT name FROM downstream WHERE name <> ALL($1::text[]) ORDER BY name`,
    [wanted],
  );
  return result.rows.map((r) => r.name);
}

export interface ModuleAction {
  install: readonly string[];
  upgrade: readonly string[];
  uninstall: readonly string[];
  updateList: boolean;
}

export interface ModuleRun {
  /** What the run does, for a job's log. */
  step: string;
  cmd: string[];
  /** Added to the container's environment: the data the fixed script reads. */
  env: Record<string, string>;
}

export interface ModuleCommandOptions {
  /**
   * Where a mounted Odoo source tree lives (Marina's test image runs `odoo` from a tree mounted at
   * /opt/odoo). The script imports the `odoo` package the image's Python already has (the official
   * image's dist-packages) and looks there only when it has none.
   */
  odooSource?: string;
}

/** Where Marina mounts an Odoo source tree (src/modules/instances/odoo-container.ts ODOO_SOURCE_MOUNT). */
const DEFAULT_ODOO_SOURCE = '/opt/odoo';

/** Odoo's own rule for database names (odoo/service/db.py), which also keeps `-d` from looking like an option. */
const DB_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function requireModuleNames(names: readonly string[], what: string): string[] {
  for (const name of names) {
    if (typeof name !== 'string' || name.length > MAX_MODULE_NAME || !MODULE_NAME.test(name)) {
      throw new Error(`${what}: "${String(name).slice(0, 60)}" is not an Odoo module name`);
    }
  }
  return [...new Set(names)].sort();
}

/**
 * The fixed Python program that uninstalls modules and updates the apps list. Odoo has no
 * command-line flag for either before 19.0 (19.0 has `odoo module uninstall`; 16–18 only the UI
 * buttons and `odoo shell`, which reads its code from stdin), so Marina runs this exact text with
 * `python3 -c` and gives it the module names in MARINA_MODULES. It never changes: no data is
 * ever interpolated into it. It does what the Apps screen does:
 *   - `update_list()` — the "Update Apps List" button (ir.module.module);
 *   - `button_immediate_uninstall()` — the "Uninstall" button: marks the modules and everything
 *     that depends on them `to remove`, then reloads the registry in update mode, whose step
 *     "uninstall modules to remove" (odoo/modules/loading.py) deletes their data and tables.
 * Odoo's `-c`/`-d` parsing is Odoo's own (`config.parse_config` with the arguments after the
 * script), so it reads odoo.conf exactly like the `odoo` command. Failures are logged through
 * Odoo's logger at ERROR (so they look like any Odoo error line) and exit non-zero:
 * 1 = Odoo failed or a module is not uninstalled afterwards, 2 = bad input (names, database).
 */
export const MODULE_SCRIPT = `import importlib.util
import inspect
import logging
import os
import re
import sys
import threading

# Never import from the working directory: only the image's Python and Odoo.
if sys.path and sys.path[0] == "":
    del sys.path[0]

# The image's own Odoo (official image: dist-packages); else a source tree mounted like Marina's
# test image mounts one (its "odoo" command runs odoo-bin from there).
source = os.environ.get("MARINA_ODOO_SOURCE", "")
from_source = (
    bool(source)
    and os.path.isfile(os.path.join(source, "odoo-bin"))
    and importlib.util.find_spec("odoo") is None
)
if from_source:
    sys.path.insert(0, source)
import odoo.cli  # 19.0+: odoo.init (core set-up) first; up to 18.0 "import odoo" does it

if from_source:
    # As the test image's "odoo" does: the tree's addons/ (web ...) next to odoo/addons (base).
    import odoo.addons

    core_addons = os.path.join(source, "addons")
    if os.path.isdir(core_addons) and core_addons not in odoo.addons.__path__:
        odoo.addons.__path__.append(core_addons)

from odoo.tools import config

if "setup_logging" in inspect.signature(config.parse_config).parameters:
    config.parse_config(sys.argv[1:], setup_logging=True)
else:
    config.parse_config(sys.argv[1:])

from odoo import SUPERUSER_ID
from odoo.api import Environment
from odoo.modules.registry import Registry

_logger = logging.getLogger("odoo.marina.modules")
NAME = re.compile(r"[a-z0-9_]{1,100}")


def main():
    dbs = config["db_name"]
    if not isinstance(dbs, (list, tuple)):
        dbs = [d for d in (dbs or "").split(",") if d]
    if len(dbs) != 1:
        _logger.error("Marina: exactly one database expected (-d), got %r", dbs)
        return 2
    db = dbs[0]
    threading.current_thread().dbname = db
    names = [n for n in os.environ.get("MARINA_MODULES", "").split(",") if n]
    bad = [n for n in names if not NAME.fullmatch(n)]
    if bad:
        _logger.error("Marina: not module names: %r", bad)
        return 2
    update_list = os.environ.get("MARINA_UPDATE_LIST") == "1"

    with Registry(db).cursor() as cr:
        env = Environment(cr, SUPERUSER_ID, {})
        Module = env["ir.module.module"]
        if update_list:
            updatable, added = Module.update_list()
            cr.commit()
            _logger.info("Marina: apps list updated (%d new modules, %d with a newer version)", added, updatable)
        if names:
            modules = Module.search([("name", "in", names)])
            unknown = sorted(set(names) - set(modules.mapped("name")))
            if unknown:
                _logger.error("Marina: unknown modules, nothing uninstalled: %s", ", ".join(unknown))
                return 2
            todo = modules.filtered(lambda m: m.state in ("installed", "to upgrade"))
            for module in modules - todo:
                _logger.info("Marina: %s is %s: nothing to uninstall", module.name, module.state)
            if todo:
                _logger.info("Marina: uninstalling %s", ", ".join(todo.mapped("name")))
                todo.button_immediate_uninstall()

    if names:
        # button_immediate_uninstall replaced the registry: read the outcome afresh.
        with Registry(db).cursor() as cr:
            cr.execute("SELECT name, state FROM ir_module_module WHERE name IN %s", (tuple(names),))
            left = sorted("%s (%s)" % (name, state) for name, state in cr.fetchall() if state != "uninstalled")
        if left:
            _logger.error("Marina: still not uninstalled: %s", ", ".join(left))
            return 1
        _logger.info("Marina: uninstalled: %s", ", ".join(names))
    return 0


try:
    code = main()
except Exception as error:
    _logger.exception("Marina: the module operation failed: %s", error)
    code = 1
logging.shutdown()
sys.exit(code)
`;

/**
 * The Odoo runs that apply a batch of module changes, in order; each is a fixed argument array
 * for a one-off container of the instance's image (its odoo.conf at `conf`, database `db`).
 *
 * Why this order:
 *  1. Uninstall first (the fixed script; with "update the apps list" when asked). Removing
 *     before installing lets a module replace one it `excludes` (Odoo refuses to install it
 *     while the other is installed); it wastes no upgrade on modules about to go; and it runs
 *     before anything can leave a module `to install`/`to upgrade`, a state in which 19.0's
 *     uninstall button refuses to work ("currently processing another module operation").
 *  2. Install and upgrade last, together, in one `odoo -i … -u … --stop-after-init` run: one
 *     registry load, and Odoo orders the work by the dependency graph itself. That run updates
 *     the apps list by itself before it marks anything (loading.py, STEP 2: every run with -i or
 *     -u calls `update_list()`), so a module whose folder just appeared installs without a
 *     separate "update the apps list" run; an explicit one is only needed without -i/-u.
 *
 * `--no-http` (in 17, 18 and 19's config.py): a one-off run must not bind Odoo's ports.
 * Odoo can exit 0 without doing what was asked (19.0 skips a module whose manifest does not
 * parse, logs ERROR "Some modules have inconsistent states" and leaves it `to upgrade`; an
 * unknown name in -i/-u is only a WARNING): check the result with `moduleOutcomeProblems`.
 */
export function moduleCommand(
  action: ModuleAction,
  conf: string,
  db: string,
  options: ModuleCommandOptions = {},
): ModuleRun[] {
  if (!conf.startsWith('/') || [...conf].some((c) => c.charCodeAt(0) < 0x20))
    throw new Error(`moduleCommand: not an absolute path: ${conf}`);
  if (!DB_NAME.test(db) || db.length > 63) throw new Error(`moduleCommand: not a database name: ${db}`);
  const install = requireModuleNames(action.install, 'install');
  const upgrade = requireModuleNames(action.upgrade, 'upgrade');
  const uninstall = requireModuleNames(action.uninstall, 'uninstall');
  // "all" means every module to Odoo: fine for an upgrade (-u all), never for install or uninstall.
  for (const [list, what] of [
    [install, 'install'],
    [uninstall, 'uninstall'],
  ] as const) {
    if (list.includes('all')) throw new Error(`moduleCommand: "all" cannot be given to ${what}`);
  }
  for (const name of ['base', 'web']) {
    if (uninstall.includes(name)) throw new Error(`moduleCommand: ${name} cannot be uninstalled`);
  }
  const both = uninstall.filter((n) => install.includes(n) || upgrade.includes(n));
  if (both.length > 0) throw new Error(`moduleCommand: asked to uninstall and install/upgrade ${both.join(', ')}`);

  const runs: ModuleRun[] = [];
  const odooRun = install.length > 0 || upgrade.length > 0;
  if (uninstall.length > 0 || (action.updateList && !odooRun)) {
    const parts = [
      action.updateList ? 'update the apps list' : '',
      uninstall.length ? `uninstall ${uninstall.join(', ')}` : '',
    ];
    runs.push({
      step: parts.filter(Boolean).join(', then '),
      cmd: ['python3', '-c', MODULE_SCRIPT, '-c', conf, '-d', db, '--no-http'],
      env: {
        MARINA_MODULES: uninstall.join(','),
        MARINA_UPDATE_LIST: action.updateList ? '1' : '0',
        MARINA_ODOO_SOURCE: options.odooSource ?? DEFAULT_ODOO_SOURCE,
      },
    });
  }
  if (odooRun) {
    const cmd = ['odoo', '-c', conf, '-d', db];
    if (install.length > 0) cmd.push('-i', install.join(','));
    if (upgrade.length > 0) cmd.push('-u', upgrade.join(','));
    cmd.push('--stop-after-init', '--no-http');
    const parts = [
      install.length ? `install ${install.join(', ')}` : '',
      upgrade.length ? `upgrade ${upgrade.join(', ')}` : '',
    ];
    runs.push({ step: parts.filter(Boolean).join(', '), cmd, env: {} });
  }
  return runs;
}

/**
 * What is not as asked after the runs, from `listModules` read afterwards (empty = all good):
 * installed and upgraded modules must be `installed`, uninstalled ones `uninstalled`, and no
 * module may be left in a transient state (`to install`, `to upgrade`, `to remove`).
 */
export function moduleOutcomeProblems(action: ModuleAction, rows: readonly ModuleRow[]): string[] {
  const state = new Map(rows.map((r) => [r.name, r.state]));
  const problems: string[] = [];
  const expect = (names: readonly string[], wanted: ModuleState, verb: string) => {
    for (const name of names) {
      if (name === 'all') continue;
      const found = state.get(name);
      if (found === undefined) problems.push(`${name}: not in the apps list (not ${verb})`);
      else if (found !== wanted) problems.push(`${name}: ${found} (not ${verb})`);
    }
  };
  expect(action.install, 'installed', 'installed');
  expect(action.upgrade, 'installed', 'upgraded');
  expect(action.uninstall, 'uninstalled', 'uninstalled');
  const named = new Set([...action.install, ...action.upgrade, ...action.uninstall]);
  for (const r of rows) {
    if (!named.has(r.name) && TRANSIENT_STATES.includes(r.state)) problems.push(`${r.name}: left ${r.state}`);
  }
  return problems;
}
