import type Docker from 'dockerode';

export interface EngineLocation {
  /** `unix:///var/run/docker.sock`, `tcp://host:2376`, or a bare socket path. */
  dockerHost: string;
  /** Mutual TLS for a TCP engine: the CA that signed the engine's certificate, and Marina's own. */
  tls?: EngineTls;
}

/** PEM texts: the engine's CA, and Marina's client certificate and key. */
export interface EngineTls {
  ca: string;
  cert: string;
  key: string;
}

/** Dockerode's options for an engine's address: a socket, or TCP (with TLS when given). */
export function parseDockerHost(dockerHost: string, tls?: EngineTls): Docker.DockerOptions {
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  if (dockerHost.startsWith('/')) return { socketPath: dockerHost };
  const url = new URL(dockerHost);
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`unsupported Docker host ${dockerHost}: use unix:///path or tcp://host:port`);
  }
  if (tls) return { host: url.hostname, port: Number(url.port || 2376), protocol: 'https', ...tls };
  return { host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' };
}
