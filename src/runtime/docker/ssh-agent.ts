import { Agent } from 'node:http';
import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';

/** What Node's HTTP client calls on a net.Socket, given to an SSH channel that lacks it. */
function asSocket(channel: Duplex, close: () => void): Duplex {
  let timer: NodeJS.Timeout | undefined;
  let idleMs = 0;
  const rearm = () => {
    if (timer) clearTimeout(timer);
    timer = idleMs > 0 ? setTimeout(() => channel.emit('timeout'), idleMs) : undefined;
  };
  const socket = channel as Duplex & Record<string, unknown>;
  socket.setTimeout = (ms: number, onTimeout?: () => void) => {
    idleMs = ms;
    // As net.Socket does: a zero timeout takes its callback back, or each reuse of the channel
    // (keep-alive) would add one more listener.
    if (onTimeout && ms === 0) channel.removeListener('timeout', onTimeout);
    else if (onTimeout) channel.once('timeout', onTimeout);
    rearm();
    return socket;
  };
  for (const name of ['setNoDelay', 'setKeepAlive', 'ref', 'unref']) socket[name] = () => socket;
  channel.on('data', () => idleMs > 0 && rearm());
  channel.once('close', () => {
    if (timer) clearTimeout(timer);
    close();
  });
  return channel;
}

/**
 * sshd's default MaxSessions is 10 channels per connection; a few are kept free for the engine's
 * event and log streams that open beside requests.
 */
const CHANNELS_PER_CONNECTION = 8;
/** An SSH connection without channels is closed after this long; a dial-stdio kept for reuse too. */
const IDLE_MS = 15_000;

/** One SSH connection and the channels it carries. */
interface Connection {
  client: Client;
  ready: Promise<void>;
  channels: number;
  idle?: NodeJS.Timeout;
  closed: boolean;
}

/**
 * Reaches a Docker engine over SSH as the Docker CLI does: each HTTP connection is a channel running
 * `docker system dial-stdio` on the host, whose stdin and stdout are the engine's API. Unlike the
 * CLI, channels share SSH connections (a handshake costs more than the request), and a channel is
 * kept for the next request (keep-alive): a container run is a dozen requests. Dockerode's own SSH
 * support hands Node's HTTP client a channel without the socket methods it calls (a request
 * timeout crashes the process), hence this agent.
 */
export class SshDialAgent extends Agent {
  private readonly connections = new Set<Connection>();

  constructor(private readonly config: ConnectConfig) {
    super({ keepAlive: true, timeout: IDLE_MS, maxFreeSockets: 4 });
  }

  /** A connection with a free channel: an open one, or a new one. */
  private connection(): Connection {
    for (const connection of this.connections)
      if (!connection.closed && connection.channels < CHANNELS_PER_CONNECTION) return connection;
    const client = new Client();
    const connection: Connection = {
      client,
      channels: 0,
      closed: false,
      ready: new Promise<void>((resolve, reject) => {
        client.once('ready', resolve);
        client.once('error', reject);
      }),
    };
    connection.ready.catch(() => undefined);
    const forget = () => {
      connection.closed = true;
      if (connection.idle) clearTimeout(connection.idle);
      this.connections.delete(connection);
    };
    // After `ready`, an error ends the connection; its channels close with it.
    client.on('error', forget);
    client.on('close', forget);
    client.connect(this.config);
    this.connections.add(connection);
    return connection;
  }

  override createConnection(
    _options: unknown,
    callback: (error: Error | null, socket?: Duplex) => void,
  ): Duplex | undefined {
    const connection = this.connection();
    connection.channels++;
    if (connection.idle) clearTimeout(connection.idle);
    const released = () => {
      connection.channels--;
      if (connection.channels > 0 || connection.closed) return;
      connection.idle = setTimeout(() => connection.client.end(), IDLE_MS);
      connection.idle.unref();
    };
    connection.ready.then(
      () =>
        connection.client.exec('docker system dial-stdio', (error, channel) => {
          if (error) {
            released();
            return callback(error);
          }
          callback(null, asSocket(channel, released));
        }),
      (error: Error) => {
        released();
        callback(error);
      },
    );
    return undefined;
  }

  /** Ends every SSH connection (the host is removed, or Marina stops). */
  override destroy(): void {
    super.destroy();
    for (const connection of this.connections) connection.client.end();
  }
}
