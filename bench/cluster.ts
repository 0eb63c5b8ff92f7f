/**
 * The cluster (issue #16) on three real Docker engines (scripts/swarm-nodes.sh): how long the
 * engines take to come up, how long Marina takes to add them as hosts (the swarm made, two
 * joined), a placement decision, and how soon a node whose engine is killed shows down on the
 * Nodes page with the default heartbeat (MARINA_CLUSTER_HEARTBEAT_S=5, followed every second),
 * then ready again once it is back. Needs root and dockerd.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { benchMarina, system } from './marina.js';
import { checkoutFile, ms, percentile, report, timed } from './report.js';

const run = promisify(execFile);
const SCRIPT = checkoutFile('scripts/swarm-nodes.sh');
const ENV = {
  MARINA_SWARM_DIR: '/var/lib/marina-cluster-bench',
  MARINA_SWARM_PREFIX: 'marina-cb',
  MARINA_SWARM_SUBNET: '192.168.236',
  MARINA_SWARM_IMAGES: 'marina-test/debian:bookworm',
};
const ROUNDS = 3;
const script = (...args: string[]) => run('bash', [SCRIPT, ...args], { env: { ...process.env, ...ENV } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function clusterBench(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('cluster: skipped (needs root for network namespaces and dockerd)');
    return;
  }
  await script('down');
  const [up, upMs] = await timed(() => script('up', '3'));
  report('cluster: three engines up (script, images loaded)', ms(upMs));
  const nodes = up.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [name = '', , , url = ''] = line.split(' ');
      return { name, url };
    });
  const pem = (file: string) => readFileSync(`${ENV.MARINA_SWARM_DIR}/tls/${file}`, 'utf8');
  const tls = { ca: pem('ca.pem'), cert: pem('cert.pem'), key: pem('key.pem') };
  const marina = await benchMarina({ MARINA_CLUSTER_FOLLOW_S: '1' });
  try {
    const state = async (id: string) =>
      (await marina.db.selectFrom('hosts').select('node_state').where('id', '=', id).executeTakeFirst())?.node_state;
    const waitFor = async (id: string, wanted: string, limitMs: number) => {
      const started = performance.now();
      while ((await state(id)) !== wanted) {
        if (performance.now() - started > limitMs) throw new Error(`${id} not ${wanted} within ${limitMs} ms`);
        await sleep(100);
      }
      return performance.now() - started;
    };
    const adds: number[] = [];
    for (const node of nodes) {
      const [, took] = await timed(() => marina.services.nodes.add(system, { ...node, dockerHost: node.url, tls }));
      adds.push(took);
    }
    report('cluster: add the first host (swarm made)', ms(adds[0] ?? 0));
    report('cluster: add a host (joined), median of two', ms(percentile(adds.slice(1), 50)));
    const organization = await marina.services.organizations.create(system, { slug: 'place', name: 'Place' });
    const placements: number[] = [];
    for (let i = 0; i < 20; i++) {
      const [, took] = await timed(() =>
        marina.services.nodes.placement(system.actor, {
          memoryMb: 1024,
          cpus: 1,
          organization: organization.id,
          stage: 'production',
        }),
      );
      placements.push(took);
    }
    report('cluster: placement decision (API service), median of 20', ms(percentile(placements, 50)));
    const down: number[] = [];
    const back: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const pid = readFileSync(`${ENV.MARINA_SWARM_DIR}/node3/docker.pid`, 'utf8').trim();
      await run('kill', ['-9', pid]);
      down.push(await waitFor('node3', 'down', 120_000));
      const restarted = performance.now();
      await script('up', '3');
      await waitFor('node3', 'ready', 120_000);
      back.push(performance.now() - restarted);
    }
    const summary = (values: number[]) =>
      `median ${ms(percentile(values, 50))} (${values.map((v) => (v / 1000).toFixed(1)).join(' / ')} s)`;
    report(`cluster: worker killed → shown down (heartbeat 5 s), ${ROUNDS} runs`, summary(down));
    report(`cluster: engine restarted → shown ready, ${ROUNDS} runs`, summary(back));
  } finally {
    await marina.services.nodeFollower.stop();
    await marina.close();
    await script('down');
  }
}
