import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleClosure } from './module-closure.js';

let root: string;

async function addon(dir: string, name: string, manifest: string, code = '') {
  await mkdir(join(root, dir, name), { recursive: true });
  await writeFile(join(root, dir, name, '__manifest__.py'), manifest);
  await writeFile(join(root, dir, name, '__init__.py'), code);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'marina-closure-'));
  await addon('core', 'base', "{'name': 'Base', 'depends': []}");
  await addon('core', 'web', "{'depends': ['base'], 'auto_install': True}");
  await addon('addons', 'mail', "{'depends': ['base', 'web']}");
  await addon('addons', 'sale', "{'depends': ['mail']}");
  await addon('addons', 'sale_mail_bridge', "{'depends': ['sale', 'mail', 'bus'], 'auto_install': ['sale']}");
  await addon('addons', 'bus', "{'depends': ['base']}");
  await addon('addons', 'crm_sale', "{'depends': ['sale', 'crm'], 'auto_install': True}");
  await addon('addons', 'crm', "{'depends': ['mail']}");
  await addon('addons', 'broken', "{'depends': ['base'], 'installable': False, 'auto_install': True}");
});

afterAll(() => rm(root, { recursive: true, force: true }));

const dirs = () => [join(root, 'core'), join(root, 'addons')];

describe('the modules an `odoo -i` installs, read from the manifests', () => {
  it('adds dependencies and auto-installed modules (True: all dependencies in; a list: those listed)', async () => {
    expect((await moduleClosure(dirs(), [])).modules).toEqual(['base', 'web']);
    const sale = await moduleClosure(dirs(), ['sale']);
    // sale_mail_bridge waits only for sale, and brings bus; crm_sale waits for crm too.
    expect(sale.modules).toEqual(['base', 'bus', 'mail', 'sale', 'sale_mail_bridge', 'web']);
    expect((await moduleClosure(dirs(), ['sale', 'crm'])).modules).toContain('crm_sale');
    expect(sale.missing).toEqual([]);
  });

  it('names what no folder has, and changes its checksum with any file of an installed module only', async () => {
    expect((await moduleClosure(dirs(), ['nowhere'])).missing).toEqual(['nowhere']);
    const before = await moduleClosure(dirs(), ['sale']);
    await writeFile(join(root, 'addons', 'crm', '__init__.py'), '# not installed with sale\n');
    expect((await moduleClosure(dirs(), ['sale'])).checksum).toBe(before.checksum);
    await writeFile(join(root, 'addons', 'mail', 'models.py'), 'x = 1\n');
    const after = await moduleClosure(dirs(), ['sale']);
    expect(after.checksum).not.toBe(before.checksum);
    expect(after.modules).toEqual(before.modules);
  });
});
