import { systemContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import type { OperationView } from '../../platform/jobs/operations.js';
import { invalid } from '../../platform/validation.js';
import type { PushHookGuard } from './push-hook-guard.js';
import type { RepositoryService, SubmitUpdate } from './repositories.js';
import { verifyPush } from './webhooks.js';

/**
 * A push event from GitHub, GitLab or Gitea: the token names the repository, the signature (or
 * GitLab's secret token) proves the sender, and instances following the pushed branch update.
 */
export async function receivePush(
  repositories: RepositoryService,
  token: string,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  submit: SubmitUpdate,
  guard: PushHookGuard,
): Promise<{ accepted: boolean; reason: string; jobs: OperationView[] }> {
  const repo = await repositories.byHookToken(token);
  if (!repo) throw new MarinaError('MARINA_E_NOT_FOUND', 'No repository has this hook.');
  // Counted before the signature: a flood of forgeries costs no more than the budget either.
  guard.admit(repo.id);
  const outcome = verifyPush(headers, body, repositories.hookSecret(repo));
  if (!outcome.ok) {
    if (outcome.reason === 'signature') throw new MarinaError('MARINA_E_HOOK_REJECTED', outcome.message);
    if (outcome.reason === 'payload') throw invalid('body', outcome.message);
    return { accepted: false, reason: outcome.message, jobs: [] };
  }
  const { event } = outcome;
  // A replay answers 200 without acting, not an error: providers retry or disable hooks that fail,
  // and the original delivery was handled.
  if (!(await guard.remember(repo.id, event.provider, headers, body)))
    return { accepted: false, reason: 'This delivery was already received: ignored (replay).', jobs: [] };
  if (event.deleted || event.branch === null)
    return { accepted: false, reason: 'Not a push of commits to a branch: nothing to update.', jobs: [] };
  const instances = await repositories.instancesOnBranch(repo, event.branch);
  if (instances.length === 0)
    return { accepted: false, reason: `No instance follows the branch ${event.branch}.`, jobs: [] };
  const ctx = systemContext(`git push (${event.provider}${event.pusher ? `, ${event.pusher}` : ''})`);
  const jobs: OperationView[] = [];
  const busy: string[] = [];
  for (const instance of instances) {
    try {
      await repositories.ensureCheckout(repo, instance);
      const job = await submit(ctx, instance, 'repository.update', {
        repositoryId: repo.id,
        reason: 'hook',
        after: event.after,
      });
      await repositories.recordCheckout(repo.id, instance.id, { last_operation_id: job.id });
      jobs.push(job);
    } catch (error) {
      // Only an instance another job holds is skipped (and reported busy); anything else fails the delivery.
      if (!(error instanceof MarinaError) || error.code !== 'MARINA_E_INSTANCE_BUSY') throw error;
      busy.push(instance.name);
    }
  }
  const reason =
    busy.length > 0
      ? `Busy, not updated (pull them when their job ends): ${busy.join(', ')}.`
      : `Updating ${jobs.length} instance(s) on ${event.branch}.`;
  return { accepted: jobs.length > 0, reason, jobs };
}
