import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { bareHost, type OutboundGuard } from '../../adapters/net/outbound.js';
import type { Db } from '../../db/database.js';
import type { AlertChannelKind } from '../../db/schema-metrics.js';
import type { Clock } from '../../platform/clock.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { type AlertMessage, signature, webhookBody } from './formats.js';

const DEFAULT_INTERVAL_MS = 15_000;
const TIMEOUT_MS = 10_000;
const MAX_ATTEMPTS = 8;
const BATCH = 20;
// 1, 2, 4… minutes between tries, at most an hour.
const backoffMs = (attempts: number) => Math.min(60, 2 ** Math.max(0, attempts - 1)) * 60_000;

/** How a post ended: `taken` false means the receiver surely did not act on it (safe to try again). */
export interface PostOutcome {
  ok: boolean;
  status: number | null;
  error: string | null;
  /** false: refused before anything was sent, or the receiver answered an error: sending again is safe. */
  maybeTaken: boolean;
}

export interface WebhookChannel {
  id: string;
  kind: Exclude<AlertChannelKind, 'email'>;
  target: string;
  secret: string | null;
}

/**
 * One POST to a webhook: the host is checked by the outbound guard and the socket connects to exactly
 * the checked address (no second lookup that could answer otherwise); redirects are not followed.
 */
export async function postWebhook(
  guard: OutboundGuard,
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs = TIMEOUT_MS,
): Promise<PostOutcome> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const port = target.port === '' ? (secure ? 443 : 80) : Number(target.port);
  let address: string;
  try {
    address = (await guard.check(target.hostname, port)).address;
  } catch (error) {
    return { ok: false, status: null, error: (error as Error).message.slice(0, 500), maybeTaken: false };
  }
  const host = bareHost(target.hostname);
  return new Promise((resolve) => {
    let connected = false;
    const req = (secure ? httpsRequest : httpRequest)(
      {
        method: 'POST',
        host: address,
        port,
        path: `${target.pathname}${target.search}`,
        headers: { host: target.host, 'content-type': 'application/json', 'user-agent': 'Marina-Alerts/1', ...headers },
        timeout: timeoutMs,
        // A fresh connection: whether it connected tells whether the receiver may have the message.
        agent: false,
        ...(secure && !isIP(host) ? { servername: host } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let excerpt = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (excerpt.length < 300) excerpt += chunk;
        });
        res.on('end', () => {
          const ok = status >= 200 && status < 300;
          resolve({ ok, status, error: ok ? null : `HTTP ${status}: ${excerpt.slice(0, 300)}`, maybeTaken: ok });
        });
      },
    );
    req.on('socket', (socket) => socket.on('connect', () => (connected = true)));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ ok: false, status: null, error: (error.code ?? error.message).slice(0, 500), maybeTaken: connected }),
    );
    req.end(body);
  });
}

export interface AlertDeliveriesDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  box: SecretBox;
  guard: OutboundGuard;
  intervalMs?: number;
}

/**
 * The webhook outbox: a message is written in the transaction that fired it and posted after, by
 * this sender, never by the uptime checker. A row is claimed (queued → sending) before it is posted;
 * one still `sending` at start-up may have been delivered, so it becomes `unknown` (never twice). A
 * refused connection or an error answer is tried again with backoff.
 */
export class AlertDeliveries {
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;

  constructor(private readonly deps: AlertDeliveriesDeps) {}

  /** The channel as the sender needs it, its secret opened. */
  async channel(id: string): Promise<WebhookChannel | null> {
    const row = await this.deps.db.selectFrom('alert_channels').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.kind === 'email') return null;
    const secret =
      row.secret === null ? null : this.deps.box.open(row.secret, sealedAt('alert_channels', 'secret', row.id));
    return { id: row.id, kind: row.kind, target: row.target, secret };
  }

  /** Posts one message to one channel now (the test button, and each claimed row). */
  async post(channel: WebhookChannel, message: AlertMessage): Promise<PostOutcome> {
    const body = webhookBody(channel.kind, message);
    const headers: Record<string, string> = {};
    if (channel.kind === 'webhook') {
      headers['x-marina-timestamp'] = String(Math.floor(this.deps.clock.now().getTime() / 1000));
      headers['x-marina-event'] = message.event;
      if (channel.secret !== null) headers['x-marina-signature'] = signature(channel.secret, body);
    }
    return postWebhook(this.deps.guard, channel.target, body, headers);
  }

  drainSoon(): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.drain();
    }, 300);
    this.soon.unref();
  }

  drain(): Promise<void> {
    this.draining ??= this.drainOnce()
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'alert deliveries: a pass failed'))
      .finally(() => {
        this.draining = null;
      });
    return this.draining;
  }

  private async drainOnce(): Promise<void> {
    const { db, clock } = this.deps;
    const claimed = await db
      .updateTable('alert_deliveries')
      .set((eb) => ({ status: 'sending', attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('alert_deliveries')
          .select('id')
          .where('status', '=', 'queued')
          .where('next_attempt_at', '<=', clock.now())
          .orderBy('next_attempt_at')
          .limit(BATCH)
          .forUpdate()
          .skipLocked(),
      )
      .returning(['id', 'channel_id', 'payload', 'attempts'])
      .execute();
    await Promise.all(
      claimed.map(async (row) => {
        const channel = await this.channel(row.channel_id);
        const outcome: PostOutcome = channel
          ? await this.post(channel, row.payload as unknown as AlertMessage)
          : { ok: false, status: null, error: 'the channel is gone', maybeTaken: false };
        const retry = !outcome.ok && !outcome.maybeTaken && channel !== null && row.attempts < MAX_ATTEMPTS;
        const status = outcome.ok ? 'sent' : retry ? 'queued' : outcome.maybeTaken ? 'unknown' : 'failed';
        if (!outcome.ok)
          this.deps.logger.warn({ delivery: row.id, error: outcome.error, status }, 'alert delivery failed');
        await db
          .updateTable('alert_deliveries')
          .set({
            status,
            last_error: outcome.error,
            sent_at: outcome.ok ? clock.now() : null,
            next_attempt_at: new Date(clock.now().getTime() + (retry ? backoffMs(row.attempts) : 0)),
          })
          .where('id', '=', row.id)
          .execute();
      }),
    );
  }

  async start(): Promise<void> {
    await this.deps.db
      .updateTable('alert_deliveries')
      .set({
        status: 'unknown',
        last_error: 'Marina stopped while posting it: it may have arrived, so it is not sent again.',
      })
      .where('status', '=', 'sending')
      .execute();
    this.timer = setInterval(() => void this.drain(), this.deps.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
    this.drainSoon();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = null;
    this.soon = null;
    await this.draining;
  }
}
