import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeNamespace, requireDocker, TEST_IMAGES, testNamespace } from '../../../test/helpers/docker.js';
import { inVolumes as inVolumesOf } from '../../../test/helpers/volumes.js';
import { DockerRuntime } from '../../runtime/docker/runtime.js';
import { LABEL_NAMESPACE } from '../../runtime/port.js';
import { copyFilestore, type DataPlane } from './data-plane.js';

/**
 * A clone copies a tenant's filestore, which the tenant controls (issue 18): links planted in it
 * (to files, folders, another database's filestore, the container's own files), a FIFO and a
 * hard link. Only folders and regular files may arrive, owned by Odoo's user, and no link may be
 * followed, whether below the folder or as the folder itself. Against a real Docker engine.
 */
const namespace = testNamespace();
const labels = { [LABEL_NAMESPACE]: namespace };
const source = `${namespace}-source`;
const target = `${namespace}-target`;

const plane: DataPlane = {
  runtime: new DockerRuntime('unix:///var/run/docker.sock'),
  namespace,
  toolsImage: TEST_IMAGES.postgres,
  network: 'none',
  internal: { host: 'unused', port: 5432 },
  admin: { host: 'unused', port: 5432, user: 'unused', password: 'unused' },
  jobs: 1,
  operationId: randomUUID(),
};

/** Runs a fixed script in a throwaway container with both volumes mounted; its output. */
const inVolumes = (script: string) => inVolumesOf(docker, { [source]: '/source', [target]: '/target' }, script, labels);

/** What arrived: kind, owner, mode and path of everything below a target folder, sorted. */
const listing = async (folder: string) =>
  (await inVolumes(`cd /target/filestore/${folder}; find . -mindepth 1 -printf '%y %U:%G %m %P\\n' | sort`))
    .trim()
    .split('\n')
    .filter((line) => line !== '');

beforeAll(async () => {
  await requireDocker();
  for (const name of [source, target]) await docker.createVolume({ Name: name, Labels: labels });
  await inVolumes(`
    mkdir -p /source/filestore/odoo_src/ab /source/filestore/odoo_src/ef/gh /source/filestore/odoo_other
    cd /source/filestore
    echo 'another database' > odoo_other/private
    echo 'real content' > odoo_src/ab/real
    echo deep > odoo_src/ef/gh/deep
    echo hidden > odoo_src/.hidden
    ln odoo_src/ab/real odoo_src/ab/hard
    ln -s /etc/passwd odoo_src/ab/to-passwd
    ln -s /etc odoo_src/to-etc
    ln -s ../../odoo_other odoo_src/ab/to-other-db
    ln -s real odoo_src/ab/to-real
    mkfifo odoo_src/ab/pipe
    chmod 0755 odoo_src/ab/real
    # A filestore folder that is itself a link, to another database's.
    ln -s odoo_other odoo_linked
  `);
});

afterAll(async () => {
  await removeNamespace(namespace);
  for (const name of [source, target])
    await docker
      .getVolume(name)
      .remove({ force: true })
      .catch(() => undefined);
});

describe('copyFilestore (a clone of a hostile filestore)', () => {
  it('copies folders and regular files only, owned by Odoo, following no link', async () => {
    await copyFilestore(plane, { volume: source, db: 'odoo_src' }, { volume: target, folder: 'odoo_dst.restoring' });
    expect(await listing('odoo_dst.restoring')).toEqual([
      'd 101:101 700 ab',
      'd 101:101 700 ef',
      'd 101:101 700 ef/gh',
      'f 101:101 600 .hidden',
      'f 101:101 600 ab/hard',
      'f 101:101 600 ab/real',
      'f 101:101 600 ef/gh/deep',
    ]);
    expect(await inVolumes('cat /target/filestore/odoo_dst.restoring/ab/real')).toBe('real content\n');
    // Nothing of what the links pointed at came along, anywhere in the target volume.
    expect(await inVolumes('grep -rl -e "another database" -e "root:" /target || true')).toBe('');
  });

  it('refuses a filestore folder that is a link, and copies nothing through it', async () => {
    await expect(
      copyFilestore(plane, { volume: source, db: 'odoo_linked' }, { volume: target, folder: 'odoo_linked.restoring' }),
    ).rejects.toThrow(/symbolic link/);
    expect(await listing('odoo_linked.restoring')).toEqual([]);
  });

  it('refuses a source volume this engine does not have (another host), and makes none', async () => {
    const elsewhere = `${namespace}-elsewhere`;
    await expect(
      copyFilestore(plane, { volume: elsewhere, db: 'odoo_src' }, { volume: target, folder: 'odoo_far.restoring' }),
    ).rejects.toThrow(/not on the target's host/);
    await expect(docker.getVolume(elsewhere).inspect()).rejects.toThrow();
  });

  it('makes an empty folder for a database that never stored a file', async () => {
    await copyFilestore(plane, { volume: source, db: 'odoo_none' }, { volume: target, folder: 'odoo_none.restoring' });
    expect(await inVolumes("stat -c '%u:%g %F' /target/filestore/odoo_none.restoring")).toBe('101:101 directory\n');
    expect(await listing('odoo_none.restoring')).toEqual([]);
  });
});
