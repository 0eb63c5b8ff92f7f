import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Logger } from 'pino';
import type { EdgeRoute } from './route-table.js';

/** The zone the proxy asks: `<host>.edge.marina.internal.` → the instance's edge address. */
export const EDGE_ZONE = 'edge.marina.internal';
/**
 * The zone of instances' own servers: `<instance id, hex>.odoo.marina.internal.` → the current
 * address of its Odoo container on its organization's network (ports not published).
 */
export const ODOO_ZONE = 'odoo.marina.internal';

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
/** Short: a route removed stops being served soon; Caddy keeps its own answers 30 s anyway. */
const TTL_SECONDS = 5;
/** A container's address changes when it is made again: Caddy asks every few seconds anyway. */
const ODOO_TTL_SECONDS = 2;

export type RouteLookup = (hostname: string) => Promise<EdgeRoute | null>;
/** The address behind one label of the Odoo zone, or null: no such instance, or it does not run. */
export type AddressLookup = (label: string) => Promise<string | null>;

/**
 * The answer to one DNS query, or null when the bytes are no DNS query at all. Only A records of
 * the edge zone (and the Odoo zone, when there is a lookup for it) are answered — the proxy's
 * dynamic upstreams ask them: a known name gets its address, any other name in the zone NXDOMAIN,
 * anything outside the zones REFUSED.
 */
export async function answerQuery(query: Buffer, lookup: RouteLookup, odoo?: AddressLookup): Promise<Buffer | null> {
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    return null;
  }
  if (packet.type !== 'query') return null;
  const question = packet.questions?.[0];
  const reply = (rcode: number, answers: dnsPacket.Answer[] = []) =>
    dnsPacket.encode({
      type: 'response',
      id: packet.id ?? 0,
      // Authoritative: a resolver treats an empty, non-authoritative answer as a lame referral.
      flags: dnsPacket.AUTHORITATIVE_ANSWER | ((packet.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode,
      questions: packet.questions ?? [],
      answers,
    });
  if (!question || (packet.questions?.length ?? 0) !== 1) return reply(RCODE.FORMERR);
  const name = question.name.toLowerCase().replace(/\.$/, '');
  const zone = name.endsWith(`.${EDGE_ZONE}`) ? EDGE_ZONE : odoo && name.endsWith(`.${ODOO_ZONE}`) ? ODOO_ZONE : null;
  if (!zone || (question.class ?? 'IN') !== 'IN') return reply(RCODE.REFUSED);
  const label = name.slice(0, -(zone.length + 1));
  let address: string | null;
  try {
    address = zone === EDGE_ZONE ? ((await lookup(label))?.edgeIp ?? null) : await (odoo as AddressLookup)(label);
  } catch {
    return reply(RCODE.SERVFAIL);
  }
  if (!address) return reply(RCODE.NXDOMAIN);
  // The name exists: other types get an empty answer (AAAA is asked beside A), not NXDOMAIN.
  if (question.type !== 'A') return reply(RCODE.NOERROR);
  const ttl = zone === EDGE_ZONE ? TTL_SECONDS : ODOO_TTL_SECONDS;
  return reply(RCODE.NOERROR, [{ type: 'A', name: question.name, ttl, data: address }]);
}

/** Marina's DNS answerer for the proxy, on 127.0.0.1 over UDP and TCP (same port). */
export class EdgeDns {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly connections = new Set<Socket>();
  port = 0;

  constructor(
    private readonly lookup: RouteLookup,
    private readonly logger?: Logger,
    /** Answers the Odoo zone (instances reached on their network); without it the zone is refused. */
    private readonly odoo?: AddressLookup,
  ) {}

  /** Listens on the port (0: a free one, the same for UDP and TCP); resolves with it. */
  async start(port: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const udp = await this.listenUdp(port);
      const chosen = udp.address().port;
      try {
        this.tcp = await this.listenTcp(chosen);
        this.udp = udp;
        this.port = chosen;
        return chosen;
      } catch (error) {
        udp.close();
        // A free UDP port whose TCP twin is taken: pick another, unless the port was asked for.
        if (port !== 0 || attempt >= 10) throw error;
      }
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }

  private listenUdp(port: number): Promise<UdpSocket> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.once('error', reject);
      socket.on('message', (message, from) => {
        void answerQuery(message, this.lookup, this.odoo).then((answer) => {
          if (answer) socket.send(answer, from.port, from.address);
        });
      });
      socket.bind({ address: '127.0.0.1', port, exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', (error) => this.logger?.warn({ err: error }, 'edge DNS (UDP) error'));
        resolve(socket);
      });
    });
  }

  private listenTcp(port: number): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.serveTcp(socket));
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  /** DNS over TCP: each message is preceded by its length (two bytes). */
  private serveTcp(socket: Socket): void {
    this.connections.add(socket);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length > 65_537) return socket.destroy();
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + message.length);
        void answerQuery(Buffer.from(message), this.lookup, this.odoo).then((answer) => {
          if (!answer) return socket.destroy();
          const length = Buffer.alloc(2);
          length.writeUInt16BE(answer.length);
          socket.write(Buffer.concat([length, answer]));
        });
      }
    });
  }
}
