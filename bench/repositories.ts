/**
 * Addons from git: how long change detection takes on an OCA-sized repository (scan for
 * manifests, checksum every addon), and the git side of an update (clone, fetch + fast-forward)
 * over file:// with the real git — the fixed cost of every push-to-deploy before Odoo runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Git, releaseGitRuntime } from '../src/adapters/git/git.js';
import { addonChecksums, changedAddons } from '../src/odoo/addon-checksums.js';
import { scanAddons } from '../src/odoo/addons.js';
import { createTestRepository, demoAddon, writeAddon } from '../test/helpers/git-repo.js';
import { ms, report, timed } from './report.js';

const ADDONS = 120;
/** Files per addon besides the demo addon's own: views, data and some static assets. */
const EXTRA_FILES = 40;

export async function repositoriesBench(): Promise<void> {
  console.log('\n# repositories');
  const repo = await createTestRepository('17.0');
  const dir = await mkdtemp(join(tmpdir(), 'marina-bench-repos-'));
  try {
    for (let a = 0; a < ADDONS; a++) {
      const files = demoAddon({ version: '1.0' });
      for (let f = 0; f < EXTRA_FILES; f++) files[`static/src/part_${f}.js`] = `// ${a}/${f}\n${'x'.repeat(2000)}\n`;
      await writeAddon(repo, `addon_${a}`, files);
    }
    await repo.commit('An OCA-sized repository');
    await repo.push();
    const git = new Git();
    const access = { allowFile: true };
    const checkout = join(dir, 'checkout');
    const [, cloneMs] = await timed(() => git.clone(repo.url, '17.0', checkout, access, { submodules: false }));
    const files = ADDONS * (Object.keys(demoAddon({ version: '1.0' })).length + EXTRA_FILES);
    report(`clone (${ADDONS} addons, ${files} files, file://)`, ms(cloneMs));
    const [scan, scanMs] = await timed(() => scanAddons(checkout));
    report('scan for manifests', ms(scanMs));
    const [before, sumMs] = await timed(() => addonChecksums(checkout, scan.addons));
    report(`checksum every addon (${(files * 2) / 1000} MB)`, ms(sumMs));

    await writeAddon(repo, 'addon_7', demoAddon({ version: '1.1', extraField: true }));
    await repo.commit('One addon changed');
    await repo.push();
    const [, pullMs] = await timed(async () => {
      await git.fetch(checkout, '17.0', access);
      await git.fastForward(checkout, '17.0', access, { submodules: false });
    });
    report('fetch + fast-forward one commit', ms(pullMs));
    const [changed, detectMs] = await timed(async () => {
      const after = await addonChecksums(checkout, (await scanAddons(checkout)).addons);
      return changedAddons(before, after);
    });
    report(`detect the changed addons (found: ${changed.changed.join(', ')})`, ms(detectMs));
  } finally {
    await rm(dir, { recursive: true, force: true });
    await repo.cleanup();
    await releaseGitRuntime();
  }
}
