import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeNamespace, requireDocker, TEST_IMAGES, testNamespace } from '../../../test/helpers/docker.js';
import { inVolumes as inVolumesOf } from '../../../test/helpers/volumes.js';
import { DockerRuntime } from '../../runtime/docker/runtime.js';
import { LABEL_NAMESPACE } from '../../runtime/port.js';
import { copyFilestoreAcross, filestoreDelta, listFilestore, removeFilestoreFiles } from './across-hosts.js';
import { type DataPlane, freshFilestoreFolder } from './data-plane.js';

/**
 * A move's filestore between two hosts' volumes (issue #16): all of it while the instance serves,
 * then only what changed. Here both "hosts" are the test's Docker engine, each side its own plane
 * and volume. The source is a tenant's, so links and FIFOs planted in it must not arrive.
 */
const namespace = testNamespace();
const labels = { [LABEL_NAMESPACE]: namespace };
const source = `${namespace}-from`;
const target = `${namespace}-to`;
const DB = 'odoo_moved';

const planeOf = (): DataPlane => ({
  runtime: new DockerRuntime('unix:///var/run/docker.sock'),
  namespace,
  toolsImage: TEST_IMAGES.postgres,
  network: 'none',
  internal: { host: 'unused', port: 5432 },
  admin: { host: 'unused', port: 5432, user: 'unused', password: 'unused' },
  jobs: 1,
  operationId: randomUUID(),
});
const from = planeOf();
const to = planeOf();

const A = `ab/ab${'1'.repeat(38)}`;
const C = `cd/cd${'2'.repeat(38)}`;
const E = `ef/ef${'3'.repeat(38)}`;

/** Runs a fixed script in a throwaway container with both volumes mounted (at /from and /to). */
const inVolumes = (script: string) => inVolumesOf(docker, { [source]: '/from', [target]: '/to' }, script, labels);

const arrived = async () =>
  (await inVolumes(`cd /to/filestore/${DB}; find . -mindepth 1 -printf '%y %U %m %P\\n' | LC_ALL=C sort`))
    .trim()
    .split('\n');

describe('a filestore between two hosts', () => {
  beforeAll(async () => {
    await requireDocker();
    for (const name of [source, target]) await docker.createVolume({ Name: name, Labels: labels });
    await inVolumes(`
      mkdir -p /from/filestore/${DB}/ab /from/filestore/${DB}/cd /from/filestore/${DB}/zz
      cd /from/filestore/${DB}
      echo first > ${A}; echo second > ${C}
      touch -d '2024-01-02 03:04:05' ${A}
      ln -s /etc/passwd zz/link; mkfifo zz/fifo
      echo 'another database' > /from/filestore/other
    `);
  }, 120_000);

  afterAll(async () => {
    await removeNamespace(namespace);
  });

  it('copies every regular file, owned by Odoo and private, its time kept; no link or FIFO', async () => {
    await freshFilestoreFolder(to, target, DB);
    const copied = await copyFilestoreAcross({ plane: from, volume: source }, { plane: to, volume: target }, DB);
    expect(copied).toEqual({ files: 2, bytes: 'first\n'.length + 'second\n'.length });
    expect(await arrived()).toEqual(['d 101 755 ab', 'd 101 755 cd', `f 101 600 ${A}`, `f 101 600 ${C}`]);
    const [there, here] = await Promise.all([listFilestore(to, target, DB), listFilestore(from, source, DB)]);
    expect(there.get(A)).toEqual(here.get(A));
    expect(there.get(A)?.mtime).toBe(Date.UTC(2024, 0, 2, 3, 4, 5) / 1000);
  });

  it('then follows only what changed: a new file, a rewritten one, a deleted one', async () => {
    await inVolumes(`cd /from/filestore/${DB}; echo 'rewritten, longer' > ${A}; rm ${C}; mkdir ef; echo third > ${E}`);
    const delta = filestoreDelta(await listFilestore(from, source, DB), await listFilestore(to, target, DB));
    expect(delta.copy.sort()).toEqual([A, E]);
    expect(delta.remove).toEqual([C]);
    const copied = await copyFilestoreAcross({ plane: from, volume: source }, { plane: to, volume: target }, DB, {
      names: delta.copy,
    });
    expect(copied.files).toBe(2);
    expect(await removeFilestoreFiles(to, target, DB, delta.remove)).toBe(1);
    expect(filestoreDelta(await listFilestore(from, source, DB), await listFilestore(to, target, DB))).toEqual({
      copy: [],
      remove: [],
    });
    expect((await inVolumes(`cat /to/filestore/${DB}/${A}`)).trim()).toBe('rewritten, longer');
  });

  it('lists a folder that does not exist as empty, and never deletes a name Odoo would not give a file', async () => {
    expect((await listFilestore(from, source, 'odoo_nothing')).size).toBe(0);
    await inVolumes(`mkdir -p /to/filestore/${DB}/keep; echo mine > /to/filestore/${DB}/keep/notes`);
    expect(await removeFilestoreFiles(to, target, DB, ['keep/notes', '../other'])).toBe(0);
    expect((await inVolumes(`cat /to/filestore/${DB}/keep/notes`)).trim()).toBe('mine');
  });
});
