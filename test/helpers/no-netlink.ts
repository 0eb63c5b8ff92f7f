import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { root } from './process.js';

const run = promisify(execFile);
const source = join(root, 'test', 'helpers', 'no-netlink.c');

/**
 * The shared library that keeps the test Chromium from aborting requests when Docker adds or removes
 * a network (see no-netlink.c), compiled once per source version; parallel test files may race to
 * build it, so each writes its own file and renames it into place.
 */
export async function noNetlinkLibrary(): Promise<string> {
  const digest = createHash('sha256')
    .update(await readFile(source))
    .digest('hex')
    .slice(0, 16);
  const dir = join(root, 'test-results', 'no-netlink');
  const library = join(dir, `no-netlink-${digest}.so`);
  if (existsSync(library)) return library;
  await mkdir(dir, { recursive: true });
  const partial = `${library}.${process.pid}.partial`;
  try {
    await run('cc', ['-shared', '-fPIC', '-O2', '-o', partial, source, '-ldl']);
  } catch (error) {
    throw new Error(`cannot build ${source} (run bash scripts/install-test-deps.sh): ${(error as Error).message}`);
  }
  await rename(partial, library);
  return library;
}
