import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionInstance, removeNamespace, requireDocker, startDockerMarina, testNamespace } from './docker.js';

export type MailMarina = Awaited<ReturnType<typeof startDockerMarina>> & {
  /** The staging instance "staging" of project "shop": staging sends to the mail catcher. */
  instance: Awaited<ReturnType<typeof provisionInstance>>['instance'];
  /** Stops Marina and removes its Docker objects and its data folder (the catcher's messages). */
  close(): Promise<void>;
};

/**
 * A Marina on real Docker with its mail catcher on (a free port) and one staging instance, for
 * the mail tests: its own namespace and data folder, all removed by close() — and already
 * removed when the start itself fails.
 */
export async function startMailMarina(
  env: Record<string, string>,
  options: { provisionTimeoutMs?: number } = {},
): Promise<MailMarina> {
  await requireDocker();
  const namespace = testNamespace();
  const dataDir = await mkdtemp(join(tmpdir(), 'marina-mail-'));
  let marina: Awaited<ReturnType<typeof startDockerMarina>> | undefined;
  const close = async () => {
    await marina?.t.close();
    await removeNamespace(namespace);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    marina = await startDockerMarina(namespace, { MARINA_DATA_DIR: dataDir, MARINA_MAIL_CATCHER_PORT: '0', ...env });
    const { instance } = await provisionInstance(marina, {
      project: 'shop',
      name: 'staging',
      timeoutMs: options.provisionTimeoutMs,
    });
    return { ...marina, instance, close };
  } catch (error) {
    await close();
    throw error;
  }
}
