import type { Command } from 'commander';
import type { MarinaClient } from './api/client.js';
import type { Job, Json } from './api/types.js';
import { CliError, exitCodes } from './errors.js';
import { moveResult } from './instance-move.js';
import { printJson, table } from './output.js';
import { followJobs, jobLabel } from './progress.js';

/** `marina nodes drain`: the node takes no new instances and its instances move off it (#16). */

type Drained = Json<'/api/v1/nodes/{id}/drain', 'post'>;
type Node = Drained['node'];

const instances = (n: number) => `${n} instance${n === 1 ? '' : 's'}`;

/** What a drain printed: the node's new state, and the moves queued (instance, target, job). */
export function drainLines(answer: Drained): string[] {
  const refused = (answer.refused ?? []).map((r) => `Not moved now: ${r.label}: ${r.reason}`);
  return [...movedLines(answer), ...refused];
}

function movedLines(answer: Drained): string[] {
  const { node, moves } = answer;
  if (moves.length === 0) {
    if (node.availability === 'drain') return [`${node.name} is drained: it takes no new instances.`];
    if (node.instances === 0) return [`${node.name} takes no new instances.`];
    return [
      `${node.name} takes no new instances; none of its ${instances(node.instances)} could move now (busy with another job, or not running or stopped): drain it again once they are settled.`,
    ];
  }
  const rows = moves.map((m) => ({ instance: jobLabel(m.job), to: m.to, job: m.job.id }));
  return [
    `${node.name} takes no new instances; ${moves.length === 1 ? '1 instance moves' : `${moves.length} instances move`} to other nodes, one job each, each down for a short while:`,
    table(rows, ['instance', 'to', 'job']),
  ];
}

/** After the moves: the node is empty (drain again for Swarm), or some instances are left. */
export function afterLines(node: Node): string[] {
  if (node.instances === 0)
    return [
      node.availability === 'drain'
        ? `${node.name} is empty and drained.`
        : `${node.name} is empty: run \`marina nodes drain ${node.name}\` again to drain it in Swarm too.`,
    ];
  return [
    `${instances(node.instances)} ${node.instances === 1 ? 'is' : 'are'} still on ${node.name}: run \`marina nodes drain ${node.name}\` again to move ${node.instances === 1 ? 'it' : 'them'}.`,
  ];
}

export function registerNodeDrainCommand(
  nodes: Command,
  client: () => Promise<MarinaClient>,
  resolve: (c: MarinaClient, ref: string) => Promise<{ id: string }>,
): void {
  nodes
    .command('drain <name>')
    .description(
      'drain a node: it takes no new instances and its instances move to other nodes, one job each; once it is empty, drain it again to drain it in Swarm',
    )
    .option('--wait', 'follow the moves to their end')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { wait?: boolean; json?: boolean }) => {
      const c = await client();
      const found = await resolve(c, ref);
      const path = { params: { path: { id: found.id } } };
      const answer = await c.call(c.api.POST('/api/v1/nodes/{id}/drain', path));
      if (!opts.wait || answer.moves.length === 0) {
        if (opts.json) return printJson(answer);
        for (const line of drainLines(answer)) console.log(line);
        return;
      }
      if (!opts.json) for (const line of drainLines(answer)) console.log(line);
      const finals: Job[] = await followJobs(
        c,
        answer.moves.map((m) => m.job),
        (job, final) => {
          if (!opts.json) console.log(`${jobLabel(job)}: ${moveResult(final)}.`);
        },
      );
      const node = (await c.call(c.api.GET('/api/v1/nodes'))).nodes.find((n) => n.id === found.id) ?? answer.node;
      if (opts.json) printJson({ node, moves: answer.moves, jobs: finals });
      else for (const line of afterLines(node)) console.log(line);
      const failed = finals.filter((j) => j.status !== 'succeeded').length;
      if (failed > 0) throw new CliError(`${failed} of ${instances(finals.length)} did not move.`, exitCodes.error);
    });
}
