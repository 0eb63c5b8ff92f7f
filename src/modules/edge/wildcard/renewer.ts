import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { sendDynamicUpdate } from '../../../adapters/dns/dynamic-update.js';
import type { EdgeConfig, WildcardDns01 } from '../../../config-edge.js';
import type { Db } from '../../../db/database.js';
import type { Clock } from '../../../platform/clock.js';
import type { SecretBox } from '../../../platform/secrets/secret-box.js';
import { type ChallengePublisher, newAccountKey, orderWildcard } from './acme-order.js';
import { WildcardStore } from './store.js';

/** Let's Encrypt's production directory: MARINA_ACME_CA's default. */
export const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';
const DAY_MS = 24 * 60 * 60 * 1000;
/** A certificate is renewed this long before it expires (Let's Encrypt's are valid for 90 days). */
export const RENEW_BEFORE_MS = 30 * DAY_MS;
const CHECK_EVERY_MS = 12 * 60 * 60 * 1000;
/** Waits before retrying a failed attempt, the last one repeated (a CA limits failed validations). */
const RETRY_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 60 * 60_000, 6 * 60 * 60_000];
/** TTL of the challenge records: short, they live for one order. */
const CHALLENGE_TTL = 60;

export interface WildcardDeps {
  db: Db;
  box: SecretBox;
  logger: Logger;
  clock: Clock;
  edge: Pick<EdgeConfig, 'baseDomain' | 'acme'>;
  dns01: WildcardDns01;
  /** A new certificate is in the database: the proxy should load it (the edge's sync). */
  obtained(): void;
  checkEveryMs?: number;
  retryMs?: number[];
}

export interface WildcardStatus {
  notAfter: Date | null;
  obtainedAt: Date | null;
  lastError: string | null;
  failures: number;
}

/** RFC 2136 updates of the operator's zone, signed with their TSIG key. */
export function rfc2136Publisher(dns01: WildcardDns01): ChallengePublisher {
  const options = { server: dns01.server, zone: dns01.zone, key: dns01.key };
  return {
    add: (name, values) =>
      sendDynamicUpdate(
        options,
        values.map((value) => ({ op: 'add', name, value, ttl: CHALLENGE_TTL })),
      ),
    remove: (name, values) =>
      sendDynamicUpdate(
        options,
        values.map((value) => ({ op: 'delete', name, value })),
      ),
  };
}

/**
 * The wildcard certificate Marina obtains itself (MARINA_EDGE_WILDCARD_DNS01): obtained at start
 * when there is none, checked every 12 hours and renewed 30 days before it expires, one attempt at
 * a time. A failure is logged, kept as the wildcard's last error and retried with backoff; the
 * certificate obtained before keeps being served meanwhile.
 */
export class WildcardCertificates {
  private readonly store: WildcardStore;
  private readonly publisher: ChallengePublisher;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(private readonly deps: WildcardDeps) {
    this.store = new WildcardStore(deps.db, deps.box, deps.edge.baseDomain);
    this.publisher = rfc2136Publisher(deps.dns01);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.deps.checkEveryMs ?? CHECK_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    this.retry = undefined;
    await this.running;
  }

  async status(): Promise<WildcardStatus> {
    const record = await this.store.record();
    return {
      notAfter: record.notAfter,
      obtainedAt: record.obtainedAt,
      lastError: record.lastError,
      failures: record.failures,
    };
  }

  /**
   * Obtains or renews the certificate when it is missing or within 30 days of its end (by the
   * clock); waits for an attempt already under way rather than starting another. Never throws.
   */
  check(): Promise<void> {
    this.running ??= this.checkOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async checkOnce(): Promise<void> {
    let record: Awaited<ReturnType<WildcardStore['record']>>;
    try {
      record = await this.store.record();
    } catch (error) {
      this.deps.logger.error({ err: error }, 'edge: the wildcard certificate record could not be read');
      return;
    }
    const now = this.deps.clock.now();
    if (record.notAfter && record.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS) return;
    const domain = this.deps.edge.baseDomain;
    this.deps.logger.info(
      { domain, notAfter: record.notAfter },
      record.notAfter ? 'edge: renewing the wildcard certificate' : 'edge: obtaining the wildcard certificate',
    );
    try {
      const directoryUrl = this.deps.edge.acme.ca ?? LETS_ENCRYPT;
      const caRootsFile = this.deps.edge.acme.caRootsFile;
      // An account belongs to one CA: a new directory gets a new account.
      let account = record.acmeDirectory === directoryUrl && record.accountKey ? record.accountKey : null;
      if (!account) {
        account = await newAccountKey();
        await this.store.saveAccount(record.id, directoryUrl, account, null);
      }
      const obtained = await orderWildcard({
        directoryUrl,
        caRootsPem: caRootsFile ? await readFile(caRootsFile, 'utf8') : undefined,
        email: this.deps.edge.acme.email,
        domain,
        account: { key: account, url: record.acmeDirectory === directoryUrl ? record.accountUrl : null },
        publish: this.publisher,
        logger: this.deps.logger,
      });
      if (obtained.account.url !== record.accountUrl)
        await this.store.saveAccount(record.id, directoryUrl, account, obtained.account.url);
      await this.store.saveCertificate(
        record.id,
        obtained.certificatePem,
        obtained.keyPem,
        obtained.notAfter,
        this.deps.clock.now(),
      );
      clearTimeout(this.retry);
      this.retry = undefined;
      this.deps.logger.info({ domain, notAfter: obtained.notAfter }, 'edge: the wildcard certificate was obtained');
      this.deps.obtained();
    } catch (error) {
      const failures = record.failures + 1;
      const message = (error as Error).message || String(error);
      await this.store
        .saveFailure(record.id, message, this.deps.clock.now(), failures)
        .catch((saveError: unknown) =>
          this.deps.logger.error({ err: saveError }, 'edge: the wildcard failure could not be recorded'),
        );
      const waits = this.deps.retryMs ?? RETRY_MS;
      const waitMs = waits[Math.min(failures - 1, waits.length - 1)] ?? CHECK_EVERY_MS;
      this.deps.logger.error(
        { err: error, domain, attempt: failures, retryInMs: waitMs, stillServing: record.notAfter },
        'edge: the wildcard certificate could not be obtained; retrying',
      );
      if (!this.stopped) {
        clearTimeout(this.retry);
        this.retry = setTimeout(() => void this.check(), waitMs);
        this.retry.unref();
      }
    }
  }
}
