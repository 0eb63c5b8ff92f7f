import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../app/services.js';
import { SESSION_COOKIE } from '../../modules/identity/auth.js';
import type { Actor } from '../context.js';
import { MarinaError } from '../errors.js';

export interface EventStream {
  send(event: string, data: unknown, id?: string): void;
  /** Resolves once the client has taken what was sent (or left): producers wait here instead of buffering. */
  drained(): Promise<void>;
  close(): void;
  /** Resolves when the client goes away or the stream is closed. */
  closed: Promise<void>;
}

/**
 * What a stream's user must still be allowed, checked again while the stream is open: throws
 * (not found, forbidden) once they are not. Called with the actor as authenticated right now.
 */
export type AccessCheck = (actor: Actor) => Promise<unknown>;

export interface EventStreamLimits {
  perUser: number;
  total: number;
  recheckMs: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    eventStreams: EventStreams;
  }
}

/** A client that cannot keep up is dropped rather than buffered without limit. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const SOFT_BUFFERED_BYTES = 64 * 1024;
const HEARTBEAT_MS = 15_000;

const ownerOf = (actor: Actor): string => (actor.kind === 'user' ? `user:${actor.userId}` : `system:${actor.label}`);

/**
 * Every open Server-Sent Events stream of the process: capped per user and in total, and each one
 * re-authenticated (session or token, as the request came) and re-authorized every `recheckMs`,
 * so a stream ends soon after its session ends, its token is revoked or its membership is removed.
 */
export class EventStreams {
  private total = 0;
  private readonly byOwner = new Map<string, number>();

  constructor(
    private readonly services: Services,
    private readonly limits: EventStreamLimits,
  ) {}

  get open(): number {
    return this.total;
  }

  /** Opens a stream on a hijacked reply, or refuses with 429 (before anything is sent) when a cap is reached. */
  start(request: FastifyRequest, reply: FastifyReply, stillAllowed: AccessCheck): EventStream {
    const actor = request.auth?.ctx.actor;
    if (!actor) throw new MarinaError('MARINA_E_UNAUTHENTICATED');
    const owner = ownerOf(actor);
    const mine = this.byOwner.get(owner) ?? 0;
    if (mine >= this.limits.perUser)
      throw new MarinaError(
        'MARINA_E_TOO_MANY_STREAMS',
        `You already have ${mine} live streams open (at most ${this.limits.perUser}); close a tab or a log view first.`,
        { limit: this.limits.perUser, retryAfterSeconds: 5 },
      );
    if (this.total >= this.limits.total)
      throw new MarinaError(
        'MARINA_E_TOO_MANY_STREAMS',
        'This Marina serves as many live streams as it can; try again soon.',
        {
          retryAfterSeconds: 5,
        },
      );
    this.total++;
    this.byOwner.set(owner, mine + 1);
    const stream = openRaw(request, reply);
    let checking = false;
    const recheck = setInterval(() => {
      if (checking) return;
      checking = true;
      this.stillAllowed(request, stillAllowed)
        .then((reason) => {
          if (reason === null) return;
          stream.send('closed', { reason });
          stream.close();
        })
        .finally(() => {
          checking = false;
        });
    }, this.limits.recheckMs);
    stream.closed.then(() => {
      clearInterval(recheck);
      this.total--;
      const left = (this.byOwner.get(owner) ?? 1) - 1;
      if (left > 0) this.byOwner.set(owner, left);
      else this.byOwner.delete(owner);
    });
    return stream;
  }

  /** null while the stream may go on; otherwise why it ends. */
  private async stillAllowed(request: FastifyRequest, check: AccessCheck): Promise<string | null> {
    let actor: Actor;
    try {
      actor = await this.reauthenticate(request);
    } catch (error) {
      if (error instanceof MarinaError && error.status < 500) return 'signed-out';
      // Marina's own database hiccuped: not a reason to drop the user, the next check decides.
      return null;
    }
    try {
      await check(actor);
      return null;
    } catch (error) {
      if (error instanceof MarinaError && error.status < 500) return 'access';
      return null;
    }
  }

  /** The same credentials the request came with, checked again as a new request would be. */
  private async reauthenticate(request: FastifyRequest): Promise<Actor> {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const token = /^Bearer (\S+)$/i.exec(header)?.[1];
      if (!token) throw new MarinaError('MARINA_E_INVALID_TOKEN');
      return this.services.tokens.authenticate(token);
    }
    const secret = request.cookies[SESSION_COOKIE];
    if (!secret) throw new MarinaError('MARINA_E_UNAUTHENTICATED');
    return (await this.services.auth.authenticateSession(secret)).actor;
  }
}

export function registerEventStreams(app: FastifyInstance, services: Services, limits: EventStreamLimits): void {
  app.decorate('eventStreams', new EventStreams(services, limits));
}

/** A Server-Sent Events stream for this request, counted and access-checked (see EventStreams). */
export function openEventStream(request: FastifyRequest, reply: FastifyReply, stillAllowed: AccessCheck): EventStream {
  return request.server.eventStreams.start(request, reply, stillAllowed);
}

/** Server-Sent Events on a hijacked reply: heartbeats, clean end when the client leaves. */
function openRaw(request: FastifyRequest, reply: FastifyReply): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  });
  res.write(': connected\n\n');
  let open = true;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const close = () => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    res.end();
    resolveClosed();
  };
  const heartbeat = setInterval(() => {
    if (open) res.write(': heartbeat\n\n');
  }, HEARTBEAT_MS);
  request.raw.on('close', close);
  res.on('error', close);
  return {
    send(event, data, id) {
      if (!open) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        close();
        return;
      }
      res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    drained() {
      if (!open || res.writableLength < SOFT_BUFFERED_BYTES) return Promise.resolve();
      return new Promise<void>((resolve) => {
        res.once('drain', resolve);
        closed.then(resolve);
      });
    },
    close,
    closed,
  };
}
