import type { PinnedRemote } from '../../adapters/git/git.js';
import { GitError, scanHostKeys } from '../../adapters/git/git.js';
import type { Instance } from '../../db/schema.js';
import { MarinaError } from '../../platform/errors.js';
import { invalid } from '../../platform/validation.js';
import { type RepoUrl, requireBranch, requireKnownHosts } from './repo-validation.js';

/** What adding or changing a repository takes, and the checks that are not plain field rules. */

export interface NewRepositoryInput {
  url: unknown;
  branch: unknown;
  name?: unknown;
  subfolder?: unknown;
  submodules?: unknown;
  autoRestart?: unknown;
  autoUpgrade?: unknown;
  /** instance id → branch, for instances that do not follow the repository's branch. */
  branches?: unknown;
  knownHosts?: unknown;
}

export interface RepositoryChange {
  branch?: unknown;
  autoRestart?: unknown;
  autoUpgrade?: unknown;
  branches?: unknown;
}

export function optionalBoolean(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(field, `${field} must be true or false.`);
  return value;
}

/** instance id → branch, for instances of the project that do not follow the repository's branch. */
export function requireBranches(value: unknown, instances: Instance[]): Map<string, string> {
  const map = new Map<string, string>();
  if (value === undefined) return map;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('branches', 'branches maps instance ids to branch names.');
  for (const [instanceId, branch] of Object.entries(value)) {
    if (!instances.some((i) => i.id === instanceId))
      throw invalid('branches', `${instanceId.slice(0, 40)} is not an instance of this project.`);
    map.set(instanceId, requireBranch(branch, `branches.${instanceId}`));
  }
  return map;
}

/**
 * The host keys an ssh remote is pinned to: the ones given, or those scanned now (trust on first
 * use, shown to the user). Other remotes take none.
 */
export async function knownHostsFor(
  url: RepoUrl,
  given: unknown,
  pin: (url: RepoUrl) => Promise<PinnedRemote | undefined>,
): Promise<string | null> {
  let knownHosts: string | null = null;
  if (url.scheme === 'ssh') {
    if (given !== undefined) knownHosts = requireKnownHosts(given);
    else {
      // Trust on first use, shown to the user: later connections accept exactly these keys.
      const pinned = (await pin(url)) as PinnedRemote;
      try {
        knownHosts = await scanHostKeys(pinned);
      } catch (error) {
        throw gitError(error);
      }
    }
  } else if (given !== undefined) {
    throw invalid('knownHosts', 'Host keys only apply to ssh URLs.');
  }
  // An https remote is checked now too: a refused address is said at once, not by a failed job
  // (a name that does not resolve yet is checked again before every git command).
  if (url.scheme === 'https' || (url.scheme === 'ssh' && given !== undefined))
    await pin(url).catch((error: unknown) => {
      if (!(error instanceof MarinaError && error.details?.reason === 'dns')) throw error;
    });
  return knownHosts;
}

/** A git failure, as users read it. */
export function gitError(error: unknown): MarinaError {
  if (error instanceof MarinaError) return error;
  if (error instanceof GitError) return new MarinaError('MARINA_E_GIT', error.message, { reason: error.reason });
  return new MarinaError('MARINA_E_GIT', (error as Error).message);
}
