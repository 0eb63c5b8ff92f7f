import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Ada Developer',
  GIT_AUTHOR_EMAIL: 'ada@acme.test',
  GIT_COMMITTER_NAME: 'Ada Developer',
  GIT_COMMITTER_EMAIL: 'ada@acme.test',
  GIT_CONFIG_NOSYSTEM: '1',
};

/**
 * Where test repositories live by default: the one root folder a platform admin names for file://
 * repositories (Marina refuses local repositories anywhere else, and a root holding its own data).
 */
export const TEST_REPOS_ROOT = join(tmpdir(), 'marina-test-repos');

type Call = (method: 'PUT' | 'GET', url: string, body?: unknown) => Promise<{ statusCode: number; body: string }>;

/**
 * As a platform admin: names TEST_REPOS_ROOT the root of local repositories and lets the
 * organization (its id) use them.
 */
export async function allowLocalRepositories(call: Call, organizationId: string, prefix = '/api/v1'): Promise<void> {
  await mkdir(TEST_REPOS_ROOT, { recursive: true });
  const root = await call('PUT', `${prefix}/settings/git`, { fileRoot: TEST_REPOS_ROOT });
  if (root.statusCode !== 200) throw new Error(`setting the file root failed: ${root.statusCode} ${root.body}`);
  const grant = await call('PUT', `${prefix}/organizations/${organizationId}/file-repositories`, {
    allowFileRepositories: true,
  });
  if (grant.statusCode !== 200)
    throw new Error(`allowing local repositories failed: ${grant.statusCode} ${grant.body}`);
}

/** A bare repository on this machine and a working clone that commits and pushes to it, with the real git. */
export interface TestRepository {
  /** The bare repository's folder (what `file://` URLs point at). */
  bare: string;
  url: string;
  work: string;
  write(path: string, content: string): Promise<void>;
  remove(path: string): Promise<void>;
  commit(message: string): Promise<string>;
  push(branch?: string, force?: boolean): Promise<void>;
  git(...args: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

/** `parent`: where the bare repository goes (e.g. a git SSH server's folder); TEST_REPOS_ROOT by default. */
export async function createTestRepository(branch = '17.0', parent?: string): Promise<TestRepository> {
  if (!parent) await mkdir(TEST_REPOS_ROOT, { recursive: true });
  const root = await mkdtemp(join(parent ?? TEST_REPOS_ROOT, 'marina-git-'));
  const bare = join(root, 'addons.git');
  const work = join(root, 'work');
  const git = async (cwd: string, ...args: string[]) => (await run('git', args, { cwd, env: GIT_ENV })).stdout.trim();
  await mkdir(work);
  await git(root, 'init', '--bare', '--initial-branch', branch, bare);
  await git(work, 'init', '--initial-branch', branch);
  await git(work, 'remote', 'add', 'origin', bare);
  return {
    bare,
    url: `file://${bare}`,
    work,
    write: async (path, content) => {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), content);
    },
    remove: (path) => rm(join(work, path), { recursive: true, force: true }),
    commit: async (message) => {
      await git(work, 'add', '-A');
      await git(work, 'commit', '-q', '-m', message);
      return git(work, 'rev-parse', 'HEAD');
    },
    push: async (to = branch, force = false) => {
      await git(work, 'push', '-q', ...(force ? ['--force'] : []), 'origin', `HEAD:refs/heads/${to}`);
    },
    git: (...args) => git(work, ...args),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** A small Odoo addon: a manifest, a model and a view, as the issue asks; `extraField` adds a column. */
export function demoAddon(options: { version: string; extraField?: boolean }): Record<string, string> {
  const field = options.extraField ? "\n    priority = fields.Integer(string='Priority', default=1)" : '';
  const fieldView = options.extraField ? '\n                <field name="priority"/>' : '';
  return {
    '__manifest__.py': `{
    'name': 'Marina Demo',
    'version': '${options.version}',
    'summary': 'A small addon written by Marina\\'s tests',
    'author': 'ACME',
    'license': 'LGPL-3',
    'depends': ['base'],
    'data': ['security/ir.model.access.csv', 'views/demo_views.xml'],
    'application': True,
    'installable': True,
}
`,
    '__init__.py': 'from . import models\n',
    'models/__init__.py': 'from . import demo\n',
    'models/demo.py': `from odoo import fields, models


class MarinaDemo(models.Model):
    _name = 'marina.demo'
    _description = 'Marina demo record'

    name = fields.Char(required=True)${field}
`,
    'security/ir.model.access.csv':
      'id,name,model_id:id,group_id:id,perm_read,perm_write,perm_create,perm_unlink\naccess_marina_demo,marina.demo,model_marina_demo,base.group_user,1,1,1,1\n',
    'views/demo_views.xml': `<?xml version="1.0" encoding="utf-8"?>
<odoo>
    <record id="marina_demo_view_tree" model="ir.ui.view">
        <field name="name">marina.demo.tree</field>
        <field name="model">marina.demo</field>
        <field name="arch" type="xml">
            <tree>
                <field name="name"/>${fieldView}
            </tree>
        </field>
    </record>
</odoo>
`,
  };
}

export async function writeAddon(repo: TestRepository, folder: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) await repo.write(join(folder, path), content);
}
