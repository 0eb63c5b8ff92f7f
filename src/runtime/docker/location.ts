import type Docker from 'dockerode';
import { fingerprintOf } from '../../adapters/ssh/fingerprint.js';
import { SshDialAgent } from './ssh-agent.js';

export interface EngineLocation {
  /** `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host[:port]`, or a bare socket path. */
  dockerHost: string;
  /** How Marina proves itself to a remote engine: mutual TLS (TCP) or a key (SSH). */
  tls?: EngineAccess;
}

/** PEM texts: the engine's CA, and Marina's client certificate and key. */
export interface EngineTls {
  ca: string;
  cert: string;
  key: string;
}

/**
 * An engine reached over SSH (`docker system dial-stdio` on the host, as the Docker CLI does):
 * Marina's private key, and the host key it must present, pinned by fingerprint.
 */
export interface EngineSsh {
  privateKey: string;
  hostKeyFingerprint: string;
}

export type EngineAccess = EngineTls | EngineSsh;

export const isSshAccess = (access: EngineAccess | undefined): access is EngineSsh =>
  access !== undefined && 'privateKey' in access;

/** Dockerode's options for an engine's address: a socket, TCP (with TLS when given), or SSH. */
export function parseDockerHost(dockerHost: string, access?: EngineAccess): Docker.DockerOptions {
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  if (dockerHost.startsWith('/')) return { socketPath: dockerHost };
  const url = new URL(dockerHost);
  if (url.protocol === 'ssh:') return sshOptions(url, access);
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`unsupported Docker host ${dockerHost}: use unix:///path, tcp://host:port or ssh://user@host`);
  }
  if (access && !isSshAccess(access))
    return { host: url.hostname, port: Number(url.port || 2376), protocol: 'https', ...access };
  return { host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' };
}

function sshOptions(url: URL, access: EngineAccess | undefined): Docker.DockerOptions {
  if (!isSshAccess(access)) throw new Error(`${url.href}: an engine over SSH needs a private key and a host key`);
  const expected = access.hostKeyFingerprint;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 22);
  const agent = new SshDialAgent({
    host,
    port,
    username: decodeURIComponent(url.username),
    privateKey: access.privateKey,
    readyTimeout: 10_000,
    // Never an unpinned host: the engine behind it is root on that machine (ssh2 then fails the
    // handshake with "Host denied").
    hostVerifier: (key: Buffer) => fingerprintOf(key) === expected,
  });
  // Plain HTTP over each SSH session (the agent's): docker-modem passes `agent` to every request.
  return { protocol: 'http', host, port, agent } as Docker.DockerOptions;
}
