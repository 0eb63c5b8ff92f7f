import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { TrafficRecorder } from '../metrics/http-traffic.js';
import { instanceServerName } from './caddy-config.js';

/**
 * The proxy's access log, received by Marina: Caddy writes one JSON object per finished request
 * of an instance's server (caddy-config.ts, `logging`) as one UDP datagram to 127.0.0.1. UDP, not
 * TCP: Caddy 2.6 refuses a configuration whose TCP log address does not answer (a Marina down
 * would keep a restarted proxy from serving), and a slow reader would block the proxy's writes;
 * a datagram nobody reads is dropped by the kernel and costs the proxy nothing.
 *
 * Nothing in a datagram is trusted: any local process can send one. A line is dropped unless it is
 * short, valid JSON, from the logger of an instance server the loaded configuration has, with an
 * HTTP status and a sane duration; memory stays bounded by the instances served (HttpTraffic).
 */

/** Caddy's lines are about 200 bytes once the encoder dropped headers and query strings. */
export const MAX_LINE_BYTES = 4096;
const ACCESS_LOGGER = 'http.log.access.';
/** Longest a request may be said to have taken (a day): beyond, the line is not believed. */
const MAX_DURATION_SECONDS = 86_400;
/** Paths whose duration is a connection's life, not a latency (Odoo's bus). */
const NOT_LATENCY = new Set(['/websocket', '/longpolling']);

export interface AccessLine {
  /** The Caddy server (one per instance) whose logger wrote it. */
  server: string;
  status: number;
  /** The request's duration, or null when it is not a latency (a websocket, a long poll). */
  seconds: number | null;
}

/** One line of the proxy's access log, validated; null when it is not one Marina believes. */
export function parseAccessLine(line: string): AccessLine | null {
  if (line.length === 0 || line.length > MAX_LINE_BYTES) return null;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return null;
  const { logger, status, duration, request } = entry as Record<string, unknown>;
  if (typeof logger !== 'string' || !logger.startsWith(ACCESS_LOGGER)) return null;
  const server = logger.slice(ACCESS_LOGGER.length);
  if (!/^inst_[0-9a-f]{1,64}$/.test(server)) return null;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return null;
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0 || duration > MAX_DURATION_SECONDS)
    return null;
  // The encoder keeps the first path segment of the URI only (caddy-config.ts).
  const uri = typeof request === 'object' && request !== null ? (request as Record<string, unknown>).uri : undefined;
  const bus = status === 101 || (typeof uri === 'string' && NOT_LATENCY.has(uri));
  return { server, status, seconds: bus ? null : duration };
}

/** A sender on this machine (the proxy runs here: on the host's network, or as the operator's process). */
function loopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1' || address.startsWith('::ffff:127.');
}

export interface AccessLogDeps {
  traffic: TrafficRecorder;
  logger: Logger;
}

export class AccessLogListener {
  private socket: Socket | undefined;
  /** Caddy server name → instance id, of the configuration the proxy accepted last. */
  private servers = new Map<string, string>();
  port = 0;
  /** Lines dropped since start (malformed, unknown server, not from loopback): diagnostics and tests. */
  dropped = 0;
  /** Lines counted since start. */
  accepted = 0;
  private warned = false;

  constructor(private readonly deps: AccessLogDeps) {}

  /** Where Caddy sends the lines (its `net` writer's address), or undefined when not listening. */
  get address(): string | undefined {
    return this.socket && this.port ? `udp/127.0.0.1:${this.port}` : undefined;
  }

  /** Listens on 127.0.0.1 (port 0: a free one); resolves with the port. */
  async start(port: number): Promise<number> {
    if (this.socket) return this.port;
    const socket = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: '127.0.0.1', port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (error) => this.deps.logger.warn({ err: error }, 'edge: the access log listener failed'));
    socket.on('message', (message, from) => this.receive(message, from));
    this.socket = socket;
    this.port = socket.address().port;
    return this.port;
  }

  /** The instances the proxy's newly accepted configuration logs: only their lines count from now on. */
  serve(instanceIds: readonly string[]): void {
    this.servers = new Map(instanceIds.map((id) => [instanceServerName(id), id]));
    this.deps.traffic.measure(instanceIds);
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.port = 0;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** One datagram: normally one line; split anyway, every part checked on its own. */
  receive(message: Buffer, from: Pick<RemoteInfo, 'address'>): void {
    if (!loopback(from.address) || message.length > MAX_LINE_BYTES * 4) {
      this.drop('not from this machine, or too large');
      return;
    }
    for (const line of message.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const parsed = parseAccessLine(line);
      const instanceId = parsed && this.servers.get(parsed.server);
      if (parsed && instanceId && this.deps.traffic.record(instanceId, parsed.status, parsed.seconds)) this.accepted++;
      else this.drop('malformed, or not an instance the proxy serves');
    }
  }

  private drop(why: string): void {
    this.dropped++;
    // Once: a sender flooding bad lines must not flood Marina's log too.
    if (this.warned) return;
    this.warned = true;
    this.deps.logger.warn({ why }, 'edge: dropped an access log line (said once; later ones are only counted)');
  }
}
