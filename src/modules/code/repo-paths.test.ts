import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confinedSubfolder, containerAddonsPaths } from './repo-paths.js';

let root: string;
let checkout: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'marina-repo-paths-'));
  checkout = join(root, 'instance', 'repo');
  await mkdir(join(checkout, 'src', 'addons'), { recursive: true });
  await mkdir(join(root, 'instance', 'other-repo', 'private'), { recursive: true });
  await writeFile(join(checkout, 'README.md'), 'hello');
  await symlink('../..', join(checkout, 'up'));
  await symlink('/etc', join(checkout, 'etc'));
  await symlink('src', join(checkout, 'linked'));
  await symlink('../other-repo', join(checkout, 'sibling'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('confinedSubfolder', () => {
  it('gives the checkout itself or a real folder inside it', async () => {
    expect(await confinedSubfolder(checkout, '')).toBe(checkout);
    expect(await confinedSubfolder(checkout, 'src/addons')).toBe(join(checkout, 'src', 'addons'));
  });

  it.each([
    ['up', /"up" is a symbolic link/],
    ['etc', /"etc" is a symbolic link/],
    ['sibling', /"sibling" is a symbolic link/],
    ['linked/addons', /"linked\/addons" goes through "linked", which is a symbolic link/],
    ['README.md', /is a file, not a folder/],
    ['missing', /has no folder "missing"/],
  ])('refuses %s', async (subfolder, message) => {
    await expect(confinedSubfolder(checkout, subfolder)).rejects.toThrow(message);
  });

  it('refuses text that climbs out before looking at the disk', async () => {
    await expect(confinedSubfolder(checkout, '../other-repo')).rejects.toThrow(/"\." or "\.\."/);
    await expect(confinedSubfolder(checkout, '/etc')).rejects.toThrow(/must not start or end with "\/"/);
  });

  it('refuses a checkout folder that is itself a link', async () => {
    const linked = join(root, 'instance', 'linked-repo');
    await symlink(checkout, linked);
    await expect(confinedSubfolder(linked, '')).rejects.toThrow(/not a folder Marina made/);
  });
});

describe('containerAddonsPaths', () => {
  const target = '/mnt/extra-addons/web';
  it('puts the scan under the sub-folder inside the mounted checkout', () => {
    expect(containerAddonsPaths(target, '', { paths: ['.'], rootIsAddon: false })).toEqual([target]);
    expect(containerAddonsPaths(target, 'src/addons', { paths: ['.', 'extra'], rootIsAddon: false })).toEqual([
      `${target}/src/addons`,
      `${target}/src/addons/extra`,
    ]);
  });

  it("finds a repository that is one addon through its folder's parent", () => {
    expect(containerAddonsPaths(target, '', { paths: [], rootIsAddon: true })).toEqual([]);
    expect(containerAddonsPaths(target, 'modules/my_addon', { paths: [], rootIsAddon: true })).toEqual([
      `${target}/modules`,
    ]);
  });
});
