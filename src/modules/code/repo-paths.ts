import { lstat, realpath } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { MarinaError } from '../../platform/errors.js';
import { requireSubfolder } from './repo-validation.js';

/**
 * Where a repository's addons are inside its checkout. The tenant controls every file of the
 * checkout, symbolic links included: a sub-folder `addons -> ../..` or `addons -> /etc` would make
 * Marina scan (and Docker mount) folders of the host or of other tenants. So each part of the way
 * must be a real folder, and the result must still be inside the checkout once resolved.
 */
export async function confinedSubfolder(checkout: string, subfolder: string): Promise<string> {
  const base = await realFolder(checkout);
  const relative = requireSubfolder(subfolder);
  if (relative === '') return base;
  let current = base;
  const walked: string[] = [];
  for (const part of relative.split('/')) {
    current = join(current, part);
    walked.push(part);
    const info = await lstat(current).catch(() => undefined);
    if (!info)
      throw new MarinaError('MARINA_E_ADDONS_INVALID', `The repository has no folder "${relative}" on this branch.`);
    const at = walked.join('/');
    if (info.isSymbolicLink())
      throw new MarinaError(
        'MARINA_E_ADDONS_INVALID',
        `The repository's sub-folder "${relative}" ${at === relative ? 'is' : `goes through "${at}", which is`} a symbolic link: Marina mounts only real folders of the repository. Point the sub-folder at the folder itself.`,
      );
    if (!info.isDirectory())
      throw new MarinaError('MARINA_E_ADDONS_INVALID', `"${at}" in the repository is a file, not a folder.`);
  }
  const resolved = await realpath(current);
  if (resolved !== current || !resolved.startsWith(`${base}${sep}`))
    throw new MarinaError('MARINA_E_ADDONS_INVALID', `The sub-folder "${relative}" is not inside the repository.`);
  return current;
}

/** The checkout folder itself: a real folder (Marina made it), refused if anything replaced it by a link. */
async function realFolder(path: string): Promise<string> {
  const info = await lstat(path);
  if (info.isSymbolicLink() || !info.isDirectory())
    throw new MarinaError('MARINA_E_ADDONS_INVALID', `The checkout ${path} is not a folder Marina made.`);
  return realpath(path);
}

/**
 * addons_path entries of a checkout mounted at `target` (the checkout folder itself): the scan's
 * entries, found under the sub-folder inside the container.
 */
export function containerAddonsPaths(
  target: string,
  subfolder: string,
  scan: { paths: string[]; rootIsAddon: boolean },
): string[] {
  const base = subfolder ? posix.join(target, subfolder) : target;
  if (scan.rootIsAddon) {
    // The addon folder's parent holds it; without a sub-folder, /mnt/extra-addons does (its name is the repository's).
    return subfolder ? [posix.dirname(base)] : [];
  }
  return scan.paths.map((p) => (p === '.' ? base : posix.join(base, p)));
}
