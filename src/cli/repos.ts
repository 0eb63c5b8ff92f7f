import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { GitStatus, Instance, Job, Repository, StartedJob } from './api/types.js';
import { CliUsageError } from './errors.js';
import { ago, printJson, table } from './output.js';
import { followJobs, indent, jobLabel } from './progress.js';
import { resolveInstance, resolveProject, UUID } from './resolve.js';
import { wallClock } from './time.js';

/** Git repositories of a project: `marina repos …`. */

function repositoriesOf(c: MarinaClient, projectId: string) {
  return c.call(c.api.GET('/api/v1/projects/{id}/repositories', { params: { path: { id: projectId } } }));
}

export const short = (hash: string | null | undefined) => (hash ? hash.slice(0, 12) : '-');

/** "ORGANIZATION/PROJECT/REPOSITORY" or a repository id. */
async function resolveRepository(c: MarinaClient, ref: string, fetch = false): Promise<Repository> {
  // Fetching runs git on the server: a POST of its own, answering the same status.
  const describe = async (id: string) =>
    (
      await c.call(
        fetch
          ? c.api.POST('/api/v1/repositories/{id}/fetch', { params: { path: { id } } })
          : c.api.GET('/api/v1/repositories/{id}', { params: { path: { id } } }),
      )
    ).repository;
  if (UUID.test(ref)) return describe(ref);
  const parts = ref.split('/');
  if (parts.length === 3 && parts.every(Boolean)) {
    const project = await resolveProject(c, `${parts[0]}/${parts[1]}`);
    const { repositories } = await repositoriesOf(c, project.id);
    const found = repositories.find((r) => r.name === parts[2]);
    if (found) return describe(found.id);
  }
  throw new CliUsageError(
    `No repository "${ref}": give its id or ORGANIZATION/PROJECT/REPOSITORY (see \`marina repos ls ORGANIZATION/PROJECT\`).`,
  );
}

/** An instance of a project by name, id or ORGANIZATION/PROJECT/INSTANCE. */
async function instanceOfProject(c: MarinaClient, projectId: string, ref: string, option: string): Promise<Instance> {
  const { instances } = await c.call(c.api.GET('/api/v1/instances', { params: { query: { project: projectId } } }));
  const found = instances.find((i) => i.name === ref || i.id === ref.toLowerCase());
  if (found) return found;
  if (ref.split('/').length === 3) {
    const instance = await resolveInstance(c, ref).catch(() => undefined);
    if (instance && instances.some((i) => i.id === instance.id)) return instance;
  }
  throw new CliUsageError(
    `${option}: no instance "${ref}" in this project (${instances.map((i) => i.name).join(', ') || 'it has none yet'}).`,
  );
}

/** Exit non-zero when a job failed (its error was printed already). */
function failIfAny(jobs: StartedJob[], finals: Job[], what: string, hint = ''): void {
  const failed = finals.filter((f) => f.status !== 'succeeded');
  if (failed.length === 0) return;
  const names = failed.map((f) => jobLabel(jobs.find((j) => j.id === f.id) ?? { id: f.id, target: null }));
  throw new Error(`${what} failed for ${names.join(', ')} (${failed.length} of ${finals.length}).${hint}`);
}

function queued(jobs: StartedJob[]): void {
  if (jobs.length === 0) console.log('No job was started (the project has no instance).');
  for (const job of jobs)
    console.log(`${jobLabel(job)}: job ${job.id} queued; follow it with \`marina jobs watch ${job.id}\`.`);
}

function gitState(git: GitStatus): string {
  const parts: string[] = [];
  if (git.dirty) parts.push('dirty');
  if (git.diverged) parts.push(`diverged (ahead ${git.ahead}, behind ${git.behind})`);
  else {
    if (git.ahead > 0) parts.push(`ahead ${git.ahead}`);
    if (git.behind > 0) parts.push(`behind ${git.behind}`);
  }
  if (parts.length === 0) parts.push('clean, up to date');
  if (git.remoteHead && git.remoteHead !== git.head.hash) parts.push(`remote at ${short(git.remoteHead)}`);
  return parts.join(', ');
}

function statusLines(repo: Repository): string[] {
  const lines = [
    `${repo.name} — ${repo.url} (${repo.branch}${repo.subfolder ? `, subfolder ${repo.subfolder}` : ''})`,
    `  auto-restart ${repo.autoRestart ? 'on' : 'off'}, auto-upgrade ${repo.autoUpgrade ? 'on' : 'off'}${repo.submodules ? ', submodules' : ''}`,
  ];
  if (repo.checkouts.length === 0) lines.push('  (no instance has a checkout yet)');
  for (const c of repo.checkouts) {
    lines.push('', `${c.instanceName} (${c.stage}) — branch ${c.branch}, ${c.status}`);
    const git = c.git;
    if (git) {
      const h = git.head;
      lines.push(`  HEAD      ${short(h.hash)} ${h.subject}`);
      lines.push(`            ${h.author} <${h.email}>, ${wallClock(h.date)} (${ago(h.date)})`);
      lines.push(`  state     ${gitState(git)}`);
    } else lines.push(`  HEAD      ${c.commit ? short(c.commit) : 'not cloned yet'}`);
    if (c.previousCommit) lines.push(`  previous  ${short(c.previousCommit)}`);
    lines.push(`  addons    ${c.addons.join(', ') || '-'}`);
    if (c.error) lines.push(`  error     ${indent(c.error, '            ').trimStart()}`);
    if (c.commits && c.commits.length > 0) {
      lines.push('  recent commits:');
      for (const commit of c.commits)
        lines.push(`    ${commit.hash.slice(0, 7)} ${wallClock(commit.date)} ${commit.author}: ${commit.subject}`);
    }
  }
  return lines;
}

/** The known_hosts lines of a file: pinned keys instead of a scan of the host. */
async function knownHostsFile(path: string): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    if (text.trim() === '') throw new CliUsageError(`--known-hosts: ${path} is empty.`);
    return text;
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    throw new CliUsageError(`--known-hosts: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? error}).`);
  }
}

function branchFor(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

interface AddOptions {
  branch: string;
  name?: string;
  subfolder?: string;
  submodules?: boolean;
  autoRestart: boolean;
  autoUpgrade: boolean;
  branchFor?: string[];
  knownHosts?: string;
  wait: boolean;
  json?: boolean;
}

export function registerRepositoryCommands(program: Command, client: () => Promise<MarinaClient>): void {
  const repos = program.command('repos').description("git repositories of a project's addons");

  repos
    .command('ls <project>')
    .description("a project's repositories with each instance's commit (ORGANIZATION/PROJECT or id)")
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const c = await client();
      const project = await resolveProject(c, ref);
      const { repositories } = await repositoriesOf(c, project.id);
      if (opts.json) return printJson(repositories);
      const rows = repositories.flatMap((r) =>
        (r.checkouts.length > 0 ? r.checkouts : [undefined]).map((checkout) => ({
          name: r.name,
          url: r.url,
          branch: checkout?.branch ?? r.branch,
          instance: checkout?.instanceName,
          commit: checkout?.commit ? short(checkout.commit) : undefined,
          status: checkout?.error && checkout.status === 'ready' ? 'ready, last update failed' : checkout?.status,
          id: r.id,
        })),
      );
      console.log(table(rows, ['name', 'url', 'branch', 'instance', 'commit', 'status', 'id']));
    });

  repos
    .command('add <project> <url>')
    .description(
      'add a repository (https, ssh or user@host:path); prints its deploy key and push-to-deploy webhook, then follows the clones',
    )
    .requiredOption('--branch <branch>', 'the branch the instances follow, e.g. 17.0')
    .option('--name <name>', 'its folder, /mnt/extra-addons/<name> (default: from the URL)')
    .option('--subfolder <path>', 'the addons are in this folder of the repository')
    .option('--submodules', 'check out git submodules too')
    .option('--no-auto-restart', 'do not restart Odoo when new code arrives without module changes')
    .option('--no-auto-upgrade', 'do not upgrade changed installed modules on update')
    .option(
      '--branch-for <instance=branch>',
      'another branch for one instance (its name or id); repeat for several',
      branchFor,
    )
    .option('--known-hosts <file>', 'ssh: pin the host keys of this known_hosts file instead of scanning the host')
    .option('--no-wait', 'return once the clone jobs are queued')
    .option('--json', 'print JSON for scripts')
    .action(async (projectRef: string, url: string, opts: AddOptions) => {
      // What can be checked here is checked before the server is asked anything.
      const pairs = (opts.branchFor ?? []).map((pair) => {
        const at = pair.indexOf('=');
        if (at <= 0 || at === pair.length - 1)
          throw new CliUsageError(`--branch-for: "${pair}" is not INSTANCE=BRANCH, e.g. staging=17.0-staging.`);
        return [pair.slice(0, at), pair.slice(at + 1)] as const;
      });
      const knownHosts = opts.knownHosts ? await knownHostsFile(opts.knownHosts) : undefined;
      const c = await client();
      const project = await resolveProject(c, projectRef);
      let branches: Record<string, string> | undefined;
      if (pairs.length > 0) {
        branches = {};
        for (const [instance, branch] of pairs)
          branches[(await instanceOfProject(c, project.id, instance, '--branch-for')).id] = branch;
      }
      const { repository, jobs } = await c.call(
        c.api.POST('/api/v1/projects/{id}/repositories', {
          params: { path: { id: project.id } },
          body: {
            url,
            branch: opts.branch,
            name: opts.name,
            subfolder: opts.subfolder,
            submodules: opts.submodules ? true : undefined,
            autoRestart: opts.autoRestart ? undefined : false,
            autoUpgrade: opts.autoUpgrade ? undefined : false,
            branches,
            knownHosts,
          },
        }),
      );
      const retry = ` The repository was added: once that is fixed, run \`marina repos pull ${repository.id}\`.`;
      if (opts.json) {
        if (!opts.wait) return printJson({ repository, jobs });
        const finals = await followJobs(c, jobs);
        printJson({ repository, jobs: finals });
        return failIfAny(jobs, finals, 'The clone', retry);
      }
      console.log(
        `Added repository ${repository.name} (${repository.url}, branch ${repository.branch}) — ${repository.id}`,
      );
      console.log('\nDeploy key — add it to the repository on its git host (read access is enough):');
      console.log(`  ${repository.deployKey}`);
      if (repository.hostKeys.length > 0) {
        console.log('\nHost keys pinned (check them against the git host):');
        for (const key of repository.hostKeys) console.log(`  ${key}`);
      }
      if (repository.hook) {
        console.log('\nPush to deploy — a webhook on the git host (GitHub, GitLab or Gitea push events):');
        console.log(`  URL:    ${repository.hook.url}`);
        console.log(`  Secret: ${repository.hook.secret}`);
      }
      console.log('');
      if (!opts.wait) return queued(jobs);
      const finals = await followJobs(c, jobs, (job, final) => {
        const to = (final.result as { to?: string | null } | null)?.to;
        console.log(`${jobLabel(job)}: cloned ${to ? `at ${short(to)}` : ''}`.trimEnd());
      });
      failIfAny(jobs, finals, 'The clone', retry);
      console.log('Done.');
    });

  repos
    .command('status <repository>')
    .description(
      'per instance: branch, HEAD, dirty, ahead/behind/diverged and recent commits (ORGANIZATION/PROJECT/REPOSITORY or id)',
    )
    .option('--fetch', 'fetch from the remote first, to compare with what it has now')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { fetch?: boolean; json?: boolean }) => {
      const c = await client();
      const repository = await resolveRepository(c, ref, opts.fetch === true);
      if (opts.json) return printJson(repository);
      for (const line of statusLines(repository)) console.log(line);
    });

  repos
    .command('pull <repository>')
    .description('update: fetch, fast-forward, back up, upgrade the changed modules, restart — rolled back on failure')
    .option('--instance <instance>', 'only this instance (its name, id or ORGANIZATION/PROJECT/INSTANCE)')
    .option('--no-wait', 'return once the update jobs are queued')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { instance?: string; wait: boolean; json?: boolean }) => {
      const c = await client();
      const repository = await resolveRepository(c, ref);
      const instanceId = opts.instance
        ? (await instanceOfProject(c, repository.projectId, opts.instance, '--instance')).id
        : undefined;
      const { jobs } = await c.call(
        c.api.POST('/api/v1/repositories/{id}/pull', {
          params: { path: { id: repository.id } },
          body: { instanceId },
        }),
      );
      if (!opts.wait) return opts.json ? printJson(jobs) : queued(jobs);
      const finals = await followJobs(c, jobs, (job, final) => {
        if (opts.json) return;
        const result = (final.result ?? {}) as {
          from?: string | null;
          to?: string | null;
          upgraded?: string[];
          restarted?: boolean;
        };
        const moved =
          result.from && result.to && result.from !== result.to
            ? `${short(result.from)} → ${short(result.to)}`
            : result.to && !result.from
              ? `cloned at ${short(result.to)}`
              : `already up to date at ${short(result.to)}`;
        const upgraded = result.upgraded?.length ? `upgraded ${result.upgraded.join(', ')}` : 'no module upgraded';
        console.log(`${jobLabel(job)}: ${moved}; ${upgraded}${result.restarted ? '; restarted' : ''}.`);
      });
      if (opts.json) printJson(finals);
      failIfAny(jobs, finals, 'The update');
      if (!opts.json) console.log('Done.');
    });

  repos
    .command('rm <repository>')
    .description('remove a repository: its folders go and each instance restarts without them')
    .option('-y, --yes', 'do not ask')
    .option('--no-wait', 'return once the jobs are queued')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { yes?: boolean; wait: boolean; json?: boolean }) => {
      const c = await client();
      const repository = await resolveRepository(c, ref);
      if (!opts.yes) {
        const { confirm } = await import('./prompt.js');
        const instances = repository.checkouts.map((ch) => ch.instanceName).join(', ');
        const ok = await confirm(
          instances
            ? `Remove the repository ${repository.name} (${repository.url})? ${instances} restart(s) without its addons.`
            : `Remove the repository ${repository.name} (${repository.url})?`,
        );
        if (!ok) throw new CliUsageError('Not removed (pass --yes when there is no terminal to ask on).');
      }
      const { jobs } = await c.call(
        c.api.DELETE('/api/v1/repositories/{id}', { params: { path: { id: repository.id } } }),
      );
      if (!opts.wait) {
        if (opts.json) return printJson(jobs);
        console.log(`Removed repository ${repository.name}.`);
        return queued(jobs);
      }
      const finals = await followJobs(c, jobs);
      if (opts.json) printJson(finals);
      else console.log(`Removed repository ${repository.name}.`);
      failIfAny(jobs, finals, 'Restarting without the repository');
    });
}
