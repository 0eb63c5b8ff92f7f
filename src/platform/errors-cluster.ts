import type { ErrorEntry } from './errors.js';

/** The errors of the cluster: hosts added as Swarm nodes, placement, drain. */
export const clusterErrors = {
  MARINA_E_NODE_UNREACHABLE: {
    status: 503,
    message: 'The host’s Docker engine cannot be reached over mutual TLS or SSH.',
    hint: 'Check that the engine listens on the address given (dockerd -H tcp://0.0.0.0:2376 --tlsverify …) and its certificates are the ones given, or, over SSH, that the user may run docker there and the host key is the one given; and that a firewall lets Marina through.',
    group: 'platform',
  },
  MARINA_E_NODE_IN_SWARM: {
    status: 409,
    message: 'The host’s Docker engine already belongs to a swarm that Marina did not make.',
    hint: 'Make it leave that swarm first (docker swarm leave), or add a host that is in none.',
    group: 'platform',
  },
  MARINA_E_NODE_INSECURE: {
    status: 409,
    message: 'An instance on this node could gain privileges (setuid programs): it was stopped.',
    hint: 'Set "no-new-privileges": true in the node’s /etc/docker/daemon.json and restart its Docker engine (engines from Docker 27 honour Marina’s own setting without it).',
    group: 'platform',
  },
  MARINA_E_NODE_BUSY: {
    status: 409,
    message: 'The node still has instances.',
    hint: 'Delete or move its instances first; the message says how many there are.',
    group: 'platform',
  },
  MARINA_E_NO_PLACEMENT: {
    status: 409,
    message: 'No node of the cluster can take this instance.',
    hint: 'The message says why each node was refused: add a host, free memory, or activate a drained node.',
    group: 'platform',
  },
} as const satisfies Record<string, ErrorEntry>;
