import { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { StdoutDemux } from './demux.js';

/**
 * Copies bytes between stdin/stdout and a TCP port of the container's own loopback. Perl is what
 * the postgres image (Debian's postgresql-common) carries; no port of the server is opened to any
 * network for it.
 */
const FORWARDER = [
  'perl',
  '-MIO::Socket::INET',
  '-e',
  [
    'my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die "connect: $!\\n";',
    'binmode STDIN; binmode STDOUT; $| = 1; my $b;',
    'if (my $pid = fork) { while (sysread(STDIN, $b, 65536)) { syswrite($s, $b) } shutdown($s, 1); waitpid($pid, 0) }',
    'else { while (sysread($s, $b, 65536)) { syswrite(STDOUT, $b) } exit 0 }',
  ].join(' '),
];

/**
 * A TCP connection to a port inside a container, carried by the engine's own API (an exec whose
 * stdin and stdout are the connection). For a node reached over mutual TLS this is the only way in
 * to its database server: the same authenticated channel as every other call, no published port.
 *
 * Shaped like the `net.Socket` node-postgres drives (`connect`, `setNoDelay`, the `connect` event).
 */
export class ExecTunnel extends Duplex {
  private upstream: NodeJS.WritableStream | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly container: string,
  ) {
    super();
  }

  connect(port: number): this {
    void this.open(port).catch((error: unknown) => this.destroy(error as Error));
    return this;
  }

  private async open(port: number): Promise<void> {
    const exec = await this.docker.getContainer(this.container).exec({
      Cmd: [...FORWARDER, String(port)],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    const socket = (await exec.start({ hijack: true, stdin: true })) as unknown as Duplex;
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    let stderr = '';
    const demux = new StdoutDemux((chunk) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    socket.pipe(demux);
    demux.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) demux.pause();
    });
    demux.on('end', () => {
      if (stderr.trim()) this.destroy(new Error(`tunnel to ${this.container}:${port}: ${stderr.trim()}`));
      else this.push(null);
    });
    socket.on('error', (error) => this.destroy(error));
    this.upstream = socket;
    this.resumeOutput = () => demux.resume();
    this.emit('connect');
  }

  private resumeOutput: () => void = () => {};

  override _read(): void {
    this.resumeOutput();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (!this.upstream) {
      done(new Error('tunnel not connected yet'));
      return;
    }
    this.upstream.write(chunk, () => done());
  }

  override _final(done: (error?: Error | null) => void): void {
    this.upstream?.end();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    (this.upstream as Duplex | undefined)?.destroy();
    done(error);
  }

  // What node-postgres calls on a net.Socket; meaningless for a tunnel.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
