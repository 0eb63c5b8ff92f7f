import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { fingerprintOf } from '../../src/adapters/ssh/fingerprint.js';

const run = promisify(execFile);
const SCRIPT = new URL('../../scripts/swarm-nodes.sh', import.meta.url).pathname;

/** Root, Debian's dockerd and the main engine: what scripts/swarm-nodes.sh needs. */
export const canRunSwarmNodes =
  process.getuid?.() === 0 && existsSync('/usr/sbin/dockerd') && existsSync('/var/run/docker.sock');

/** One line of `swarm-nodes.sh up`: `<name> <unix socket> <address> <tcp url>`. */
export interface SwarmNodeLine {
  name: string;
  socket: string;
  address: string;
  url: string;
}

/**
 * A set of test engines from scripts/swarm-nodes.sh, apart from other files' by its env (folder,
 * prefix, subnet): the script, the nodes it brought up, and the TLS and SSH material it made.
 */
export function swarmNodes(env: { MARINA_SWARM_DIR: string } & Record<string, string>) {
  const dir = env.MARINA_SWARM_DIR;
  const script = (...args: string[]) => run('bash', [SCRIPT, ...args], { env: { ...process.env, ...env } });
  const read = (path: string) => readFileSync(`${dir}/${path}`, 'utf8');
  const hostKey = (node: string) =>
    fingerprintOf(Buffer.from(read(`ssh/${node}_host_key.pub`).split(' ')[1] ?? '', 'base64'));
  return {
    script,
    /** Brings up `count` engines (after removing any left over) and says where they are. */
    async up(count: number): Promise<SwarmNodeLine[]> {
      await script('down');
      const { stdout } = await script('up', String(count));
      return stdout
        .trim()
        .split('\n')
        .map((line) => {
          const [name = '', socket = '', address = '', url = ''] = line.split(' ');
          return { name, socket, address, url };
        });
    },
    /** Marina's client certificate for every node's engine. */
    tls: () => ({ ca: read('tls/ca.pem'), cert: read('tls/cert.pem'), key: read('tls/key.pem') }),
    /** The fingerprint of a node's SSH host key, as `ssh-keygen -lf` prints it. */
    hostKey,
    /** Marina's SSH key for every node, and a node's pinned host key. */
    ssh: (node: string) => ({ privateKey: read('ssh/id_ed25519'), hostKeyFingerprint: hostKey(node) }),
    /** Kills a node's dockerd as a lost machine would: no shutdown. */
    kill: async (node: string) => {
      await run('kill', ['-9', read(`${node}/docker.pid`).trim()]);
    },
  };
}
