import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerConnection, waitUntilReady, withClient } from '../../src/adapters/postgres/admin.js';
import { renderOdooConf } from '../../src/odoo/config-file.js';
import {
  downstreamDependencies,
  listModules,
  type ModuleAction,
  type ModuleRun,
  moduleCommand,
  moduleOutcomeProblems,
} from '../../src/odoo/modules.js';
import { workerSettings } from '../../src/odoo/sizing.js';
import type { OdooVersion } from '../../src/odoo/versions.js';
import { DockerRuntime } from '../../src/runtime/docker/runtime.js';
import type { RunResult } from '../../src/runtime/port.js';
import { docker, removeNamespace, requireDocker, TEST_IMAGES, testNamespace } from '../helpers/docker.js';
import { odooSource } from '../helpers/odoo.js';

/**
 * The module commands of src/odoo/modules.ts against REAL Odoo: install, upgrade, uninstall and
 * "update the apps list" on a throwaway addon, in the test image with the source tree mounted
 * (as Marina runs it). ODOO_SOURCE may hold a 17, 18 or 19 tree (its version is read from it);
 * ODOO_SOURCE_18 / ODOO_SOURCE_19 add those versions to the same run.
 */

/** The major version of an Odoo source tree, from odoo/release.py. */
function majorOf(source: string): number {
  const release = readFileSync(join(source, 'odoo', 'release.py'), 'utf8');
  const match = /^version_info = \((\d+),/m.exec(release);
  if (!match?.[1]) throw new Error(`no version_info in ${source}/odoo/release.py`);
  return Number(match[1]);
}

const sources = [odooSource(), process.env.ODOO_SOURCE_18, process.env.ODOO_SOURCE_19]
  .filter((s): s is string => Boolean(s) && existsSync(join(s as string, 'odoo-bin')))
  .map((s) => resolve(s));
const trees = [...new Set(sources)].map((source) => ({ source, major: majorOf(source) }));

const ADDON = 'marina_probe';
const PROBE_MANIFEST = (version: string) => `{
    'name': 'Marina Probe',
    'version': '${version}',
    'summary': 'A throwaway addon Marina installs, upgrades and removes',
    'author': 'Marina tests',
    'depends': ['web'],
    'data': ['security/ir.model.access.csv', 'views/probe_views.xml'],
    'application': True,
    'license': 'LGPL-3',
}
`;
const PROBE_MODEL = (extraField: string) => `from odoo import fields, models


class MarinaProbe(models.Model):
    _name = 'marina.probe'
    _description = 'Marina probe'

    name = fields.Char(required=True)
${extraField}`;

async function writeAddon(root: string, name: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const file = join(root, name, path);
    await mkdir(join(file, '..'), { recursive: true, mode: 0o755 });
    await writeFile(file, content, { mode: 0o644 });
  }
}

async function writeProbe(root: string, version: string, extraField = ''): Promise<void> {
  await writeAddon(root, ADDON, {
    '__manifest__.py': PROBE_MANIFEST(version),
    '__init__.py': 'from . import models\n',
    'models/__init__.py': 'from . import probe\n',
    'models/probe.py': PROBE_MODEL(extraField),
    'security/ir.model.access.csv':
      'id,name,model_id:id,group_id:id,perm_read,perm_write,perm_create,perm_unlink\n' +
      'access_marina_probe,marina.probe,model_marina_probe,base.group_user,1,1,1,1\n',
    'views/probe_views.xml': `<?xml version="1.0" encoding="utf-8"?>
<odoo>
    <record id="marina_probe_view_form" model="ir.ui.view">
        <field name="name">marina.probe.form</field>
        <field name="model">marina.probe</field>
        <field name="arch" type="xml">
            <form><field name="name"/></form>
        </field>
    </record>
</odoo>
`,
  });
}

/** A data-only addon depending on the probe: what "downstream" means. */
const writeDependent = (root: string, name: string, depends: string) =>
  writeAddon(root, name, {
    '__manifest__.py': `{'name': '${name}', 'version': '1.0', 'author': 'Marina tests', 'depends': ['${depends}'], 'license': 'LGPL-3'}\n`,
    '__init__.py': '',
  });

// Without a tree, one suite of the real tests is still declared, and reported as skipped.
const suites = trees.length > 0 ? trees : [{ source: '', major: 0 }];

for (const { source, major } of suites) {
  const title =
    major > 0
      ? `module commands on real Odoo ${major}.0`
      : 'module commands on real Odoo (set ODOO_SOURCE to an Odoo 17, 18 or 19 source tree)';
  describe.skipIf(trees.length === 0)(title, () => {
    const namespace = testNamespace();
    const engine = new DockerRuntime('unix:///var/run/docker.sock');
    const labels = { 'io.marina.namespace': namespace };
    const network = `${namespace}-net`;
    const volume = `${namespace}-data`;
    const password = randomBytes(12).toString('hex');
    const dbName = `modules_${major}`;
    const confPath = '/etc/odoo/odoo.conf';
    let addons: string;
    let server: ServerConnection;
    let conf: string;
    let runs = 0;

    const onDb = <T>(work: (client: pg.Client) => Promise<T>) => withClient(server, dbName, work);
    const modules = () => onDb((c) => listModules(c));
    const stateOf = async (name: string) => (await modules()).find((m) => m.name === name)?.state;
    const tableExists = (table: string) =>
      onDb(async (c) => (await c.query('SELECT to_regclass($1) AS t', [table])).rows[0]?.t !== null);
    const columnExists = (table: string, column: string) =>
      onDb(
        async (c) =>
          (
            await c.query('SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2', [
              table,
              column,
            ])
          ).rowCount === 1,
      );

    /** One one-off container of the runtime image, as Marina runs them (odoo.conf put in before start). */
    const run = (r: Pick<ModuleRun, 'cmd' | 'env'>): Promise<RunResult> =>
      engine.run({
        name: `${namespace}-run-${++runs}`,
        image: TEST_IMAGES.runtime,
        command: r.cmd,
        env: { HOST: 'db', PORT: '5432', USER: 'odoo', PASSWORD: password, ...r.env },
        labels,
        network,
        mounts: [
          { type: 'volume', source: volume, target: '/var/lib/odoo' },
          { type: 'bind', source, target: '/opt/odoo', readOnly: true },
          { type: 'bind', source: addons, target: '/mnt/extra-addons', readOnly: true },
        ],
        config: { dir: '/etc/odoo', name: 'odoo.conf', content: conf, uid: 101, gid: 101, mode: 0o600 },
        privileges: 'files',
      });

    /** Every run of a batch, in order; stops at the first failure (as Marina's job does). */
    async function apply(action: ModuleAction): Promise<RunResult[]> {
      const results: RunResult[] = [];
      for (const r of moduleCommand(action, confPath, dbName)) {
        const result = await run(r);
        results.push(result);
        if (result.exitCode !== 0) break;
      }
      return results;
    }

    const expectOk = (results: RunResult[]) => {
      for (const r of results) {
        expect(r.exitCode, r.output.slice(-3000)).toBe(0);
        expect(r.output.split('\n').filter((l) => / (ERROR|CRITICAL) /.test(l))).toEqual([]);
      }
    };

    beforeAll(async () => {
      await requireDocker();
      await docker.getImage(TEST_IMAGES.runtime).inspect();
      addons = await mkdtemp(join(tmpdir(), 'marina-addons-'));
      await chmod(addons, 0o755); // Odoo runs as uid 101 in the container
      await writeProbe(addons, '1.0');
      await writeDependent(addons, 'marina_probe_ext', ADDON);
      await engine.ensureNetwork(network, labels);
      await engine.ensureVolume(volume, labels);
      await engine.ensureVolume(`${volume}-pg`, labels);
      const pg = await engine.createDatabaseServer({
        name: `${namespace}-pg`,
        image: TEST_IMAGES.postgres,
        command: ['postgres'],
        env: { POSTGRES_USER: 'odoo', POSTGRES_PASSWORD: password },
        labels,
        network,
        alias: 'db',
        volume: `${volume}-pg`,
        dataDir: '/var/lib/postgresql/data',
        port: 5432,
      });
      await engine.start(pg);
      const port = await engine.publishedPort(pg, 5432);
      if (!port) throw new Error('PostgreSQL published no port');
      server = { host: '127.0.0.1', port, user: 'odoo', password };
      await waitUntilReady(server, 60_000);
      conf = renderOdooConf({
        version: `${major}.0` as OdooVersion,
        dbName,
        dbHost: 'db',
        dbPort: 5432,
        dbUser: 'odoo',
        dbPassword: password,
        adminPassword: randomBytes(12).toString('hex'),
        addonsPaths: ['/opt/odoo/addons', '/mnt/extra-addons'],
        dataDir: '/var/lib/odoo',
        workers: workerSettings({ cpus: 1, memoryMb: 1024 }),
        // The trimmed 19.0 tree lacks the default server-wide `rpc` (MARINA_ODOO_19_LOAD=base,web).
        serverWideModules: major >= 19 ? 'base,web' : undefined,
      });
      const init = await run({
        cmd: ['odoo', '-c', confPath, '-d', dbName, '-i', 'base', '--stop-after-init', '--no-http'],
        env: {},
      });
      if (init.exitCode !== 0) throw new Error(`-i base failed:\n${init.output.slice(-3000)}`);
    }, 240_000);

    afterAll(async () => {
      await removeNamespace(namespace);
      if (addons) await rm(addons, { recursive: true, force: true });
    });

    it('lists the modules: base and web installed, the addons on the path uninstalled, titles in English', async () => {
      const list = await modules();
      const byName = new Map(list.map((m) => [m.name, m]));
      expect(byName.get('base')).toMatchObject({
        state: 'installed',
        shortdesc: 'Base',
        installedVersion: expect.stringMatching(new RegExp(`^${major}\\.0\\.`)),
      });
      expect(byName.get('web')?.state).toBe('installed');
      expect(byName.get(ADDON)).toEqual({
        name: ADDON,
        state: 'uninstalled',
        installedVersion: null,
        shortdesc: 'Marina Probe',
        summary: 'A throwaway addon Marina installs, upgrades and removes',
        author: 'Marina tests',
        application: true,
      });
      // The column types listModules relies on, as this version's ORM created them.
      const types = await onDb(
        async (c) =>
          (
            await c.query<{ column_name: string; data_type: string }>(
              `SELECT column_name, data_type FROM information_schema.columns
                WHERE table_name = 'ir_module_module'
                  AND column_name IN ('name', 'state', 'latest_version', 'shortdesc', 'summary', 'author', 'application')`,
            )
          ).rows,
      );
      expect(Object.fromEntries(types.map((t) => [t.column_name, t.data_type]))).toEqual({
        name: 'character varying',
        state: 'character varying',
        latest_version: 'character varying',
        shortdesc: 'jsonb',
        summary: 'jsonb',
        author: 'character varying',
        application: 'boolean',
      });
    });

    it('installs a module and its dependent: installed, with their table and columns', {
      timeout: 120_000,
    }, async () => {
      const action = { install: ['marina_probe_ext'], upgrade: [], uninstall: [], updateList: false };
      expectOk(await apply(action));
      const list = await modules();
      expect(moduleOutcomeProblems(action, list)).toEqual([]);
      expect(list.find((m) => m.name === ADDON)).toMatchObject({
        state: 'installed',
        installedVersion: `${major}.0.1.0`,
      });
      expect(await tableExists('marina_probe')).toBe(true);
      expect(await columnExists('marina_probe', 'name')).toBe(true);
      expect(await onDb((c) => downstreamDependencies(c, [ADDON]))).toEqual(['marina_probe_ext']);
      expect(await onDb((c) => downstreamDependencies(c, ['web']))).toEqual(
        expect.arrayContaining([ADDON, 'marina_probe_ext']),
      );
      expect(await onDb((c) => downstreamDependencies(c, ['marina_probe_ext']))).toEqual([]);
    });

    it('upgrades it after a field was added: the column exists and the installed version moves', {
      timeout: 120_000,
    }, async () => {
      await writeProbe(addons, '1.1', '    note = fields.Char()\n');
      const action = { install: [], upgrade: [ADDON], uninstall: [], updateList: false };
      expectOk(await apply(action));
      expect(await columnExists('marina_probe', 'note')).toBe(true);
      expect((await modules()).find((m) => m.name === ADDON)?.installedVersion).toBe(`${major}.0.1.1`);
      expect(moduleOutcomeProblems(action, await modules())).toEqual([]);
    });

    it('uninstalls it with its dependent: uninstalled, and the table is gone', { timeout: 120_000 }, async () => {
      const action = { install: [], upgrade: [], uninstall: [ADDON], updateList: false };
      const results = await apply(action);
      expectOk(results);
      expect(results[0]?.output).toContain(`Marina: uninstalling ${ADDON}`);
      expect(results[0]?.output).toContain(`Marina: uninstalled: ${ADDON}`);
      expect(await stateOf(ADDON)).toBe('uninstalled');
      expect(await stateOf('marina_probe_ext')).toBe('uninstalled');
      expect(await tableExists('marina_probe')).toBe(false);
      expect(
        await onDb(async (c) => (await c.query("SELECT 1 FROM ir_model WHERE model = 'marina.probe'")).rowCount),
      ).toBe(0);
      expect(moduleOutcomeProblems(action, await modules())).toEqual([]);
    });

    it('updates the apps list: an addon folder added since appears as uninstalled', { timeout: 120_000 }, async () => {
      await writeDependent(addons, 'marina_late', 'base');
      expect(await stateOf('marina_late')).toBeUndefined();
      expectOk(await apply({ install: [], upgrade: [], uninstall: [], updateList: true }));
      expect((await modules()).find((m) => m.name === 'marina_late')).toMatchObject({
        state: 'uninstalled',
        shortdesc: 'marina_late',
      });
    });

    it('runs a mixed batch in order: uninstall, then install (a folder never listed installs directly)', {
      timeout: 120_000,
    }, async () => {
      expectOk(await apply({ install: ['marina_late'], upgrade: [], uninstall: [], updateList: false }));
      await writeDependent(addons, 'marina_later', 'web');
      const action = { install: [ADDON, 'marina_later'], upgrade: [], uninstall: ['marina_late'], updateList: false };
      const results = await apply(action);
      expect(results).toHaveLength(2);
      expectOk(results);
      expect(moduleOutcomeProblems(action, await modules())).toEqual([]);
      expect(await tableExists('marina_probe')).toBe(true);
    });

    it('fails loudly on a module name Odoo does not know (exit 2, an ERROR line)', { timeout: 60_000 }, async () => {
      const [result] = await apply({ install: [], upgrade: [], uninstall: ['no_such_module'], updateList: false });
      expect(result?.exitCode).toBe(2);
      expect(result?.output).toMatch(
        / ERROR modules_\d+ odoo\.marina\.modules: Marina: unknown modules, nothing uninstalled: no_such_module/,
      );
    });

    it('reports a broken __manifest__.py on upgrade (17/18: exit 255; 19: exit 0, ERROR, left "to upgrade")', {
      timeout: 120_000,
    }, async () => {
      await writeFile(
        join(addons, ADDON, '__manifest__.py'),
        "{\n    'name': 'Marina Probe',\n    'version': '1.2'\n    'depends': ['web'],\n}\n",
      );
      const action = { install: [], upgrade: [ADDON], uninstall: [], updateList: false };
      const [result] = await apply(action);
      const errors = (result?.output ?? '').split('\n').filter((l) => / (ERROR|CRITICAL) /.test(l));
      if (major >= 19) {
        expect(result?.exitCode).toBe(0);
        expect(errors.join('\n')).toMatch(
          /Some modules have inconsistent states, some dependencies may be missing: \['marina_probe'\]/,
        );
        expect(result?.output).toMatch(/WARNING .* module marina_probe: manifest not found/);
        expect(moduleOutcomeProblems(action, await modules())).toEqual(['marina_probe: to upgrade (not upgraded)']);
      } else {
        expect(result?.exitCode).toBe(255);
        expect(errors.join('\n')).toMatch(/ERROR .* odoo\.modules\.registry: Failed to load registry/);
        expect(errors.join('\n')).toMatch(
          /CRITICAL .* odoo\.service\.server: Failed to initialize database `modules_\d+`\./,
        );
        expect(result?.output).toMatch(/SyntaxError: invalid syntax/);
        // 17/18 reset the transient states when loading fails: nothing is left "to upgrade".
        expect(await stateOf(ADDON)).toBe('installed');
      }
      await writeProbe(addons, '1.1', '    note = fields.Char()\n');
    });
  });
}
