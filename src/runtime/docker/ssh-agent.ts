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
    if (onTimeout) channel.once('timeout', onTimeout);
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
 * Reaches a Docker engine over SSH as the Docker CLI does: each connection is an SSH session running
 * `docker system dial-stdio` on the host, whose stdin and stdout are the engine's API. Dockerode's own
 * SSH support hands Node's HTTP client a channel without the socket methods it calls (a request
 * timeout crashes the process), hence this agent.
 */
export class SshDialAgent extends Agent {
  constructor(private readonly config: ConnectConfig) {
    super({ keepAlive: false });
  }

  override createConnection(
    _options: unknown,
    callback: (error: Error | null, socket?: Duplex) => void,
  ): Duplex | undefined {
    const client = new Client();
    let settled = false;
    const fail = (error: Error) => {
      client.end();
      if (settled) return;
      settled = true;
      callback(error);
    };
    client.once('error', fail);
    client.once('ready', () => {
      client.exec('docker system dial-stdio', (error, channel) => {
        if (error) return fail(error);
        settled = true;
        callback(
          null,
          asSocket(channel, () => client.end()),
        );
      });
    });
    client.connect(this.config);
    return undefined;
  }
}
