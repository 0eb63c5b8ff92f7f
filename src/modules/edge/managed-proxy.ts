import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { EdgeConfig } from '../../config-edge.js';
import { MarinaError } from '../../platform/errors.js';
import type { Mount, ProxyServerSpec, Runtime } from '../../runtime/port.js';
import { MANAGED_PROXY_KIND, namespaceLabels } from '../hosts/database-servers.js';

/**
 * Caddy as a container Marina runs on this host (MARINA_CADDY_ADMIN_URL unset), like its managed
 * PostgreSQL: made on first need, started again when stopped, made again when gone, and left
 * running when Marina stops. Nothing of it is in Marina's database: Docker is the record.
 *
 * It runs on the host's network: it listens on the host's ports 80/443, sees clients' real
 * addresses, reaches Marina's `ask` endpoint and edge DNS on loopback, listens on the instances'
 * 127.77.x.y addresses, and reaches containers on the bridge networks by their addresses. Its admin
 * API listens on the host's loopback only, which no container reaches: no tenant can reconfigure it.
 */

/** Where the operator's files are mounted, read-only, inside the container (Caddy reads them there). */
export const PROXY_FILES = {
  acmeCaRoots: '/etc/marina/acme-ca-roots.pem',
  wildcardCert: '/etc/marina/wildcard-cert.pem',
  wildcardKey: '/etc/marina/wildcard-key.pem',
} as const;

/** Marks the container with a hash of what it was made with; another hash makes it again. */
export const LABEL_PROXY_SPEC = 'io.marina.proxy-spec';

const BOOTSTRAP = { dir: '/etc/caddy', name: 'marina-bootstrap.json' };

/** What ensure() had to do: nothing, start the stopped container, or make it (again). */
export type ProxyEnsured = 'running' | 'started' | 'created';

export interface ManagedProxyDeps {
  /** The runtime of the host the proxy runs on (this machine's). */
  runtime: () => Promise<Runtime>;
  namespace: string;
  hostId: string;
  edge: Pick<EdgeConfig, 'acme' | 'wildcard'>;
  managed: { image: string; adminPort: number };
  /** Resolves once Caddy's admin API answers (it rejects until then). */
  answers: () => Promise<unknown>;
  /** How long a started container gets to answer before ensure() gives up waiting (default 20 s). */
  readyTimeoutMs?: number;
  logger: Logger;
}

export class ManagedProxy {
  /** `<namespace>-proxy-<hostId>`, its volumes `<name>-data` (certificates) and `<name>-config` (autosave). */
  readonly name: string;
  private pending: Promise<ProxyEnsured> | undefined;

  constructor(private readonly deps: ManagedProxyDeps) {
    this.name = `${deps.namespace}-proxy-${deps.hostId}`;
  }

  get dataVolume(): string {
    return `${this.name}-data`;
  }

  get configVolume(): string {
    return `${this.name}-config`;
  }

  /** The edge's settings as Caddy inside the container reads them: the operator's files at their inner paths. */
  inside<T extends Pick<EdgeConfig, 'acme' | 'wildcard'>>(edge: T): T {
    return {
      ...edge,
      acme: { ...edge.acme, caRootsFile: edge.acme.caRootsFile && PROXY_FILES.acmeCaRoots },
      wildcard: edge.wildcard && { certFile: PROXY_FILES.wildcardCert, keyFile: PROXY_FILES.wildcardKey },
    };
  }

  /**
   * The container, made or started when it is missing or stopped, and answering on its admin API
   * (so the first load does not meet a refused connection). One at a time: start and the watch may overlap.
   */
  ensure(): Promise<ProxyEnsured> {
    this.pending ??= this.createOrStart()
      .then(async (done) => {
        if (done !== 'running') await this.untilAnswering();
        return done;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private async untilAnswering(): Promise<void> {
    const deadline = Date.now() + (this.deps.readyTimeoutMs ?? 20_000);
    for (;;) {
      try {
        await this.deps.answers();
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new MarinaError(
            'MARINA_E_PROXY_UNAVAILABLE',
            `The managed proxy ${this.name} runs but its admin API does not answer: ${(error as Error).message} (docker logs ${this.name}).`,
          );
      }
      await new Promise((wake) => setTimeout(wake, 100));
    }
  }

  /** The container as Marina makes it (a pure function of the settings: the hash label compares it). */
  spec(): ProxyServerSpec {
    const { namespace, hostId, managed } = this.deps;
    const bootstrap = JSON.stringify({ admin: { listen: `127.0.0.1:${managed.adminPort}` } });
    const spec: ProxyServerSpec = {
      name: this.name,
      image: managed.image,
      // --resume: a restarted container serves the configuration Marina last loaded (autosaved in
      // /config); the bootstrap only counts before the first load, or after the config volume is gone.
      command: ['caddy', 'run', '--resume', '--config', `${BOOTSTRAP.dir}/${BOOTSTRAP.name}`],
      env: { XDG_DATA_HOME: '/data', XDG_CONFIG_HOME: '/config' },
      labels: namespaceLabels(namespace, MANAGED_PROXY_KIND, hostId),
      mounts: [
        { type: 'volume', source: this.dataVolume, target: '/data' },
        { type: 'volume', source: this.configVolume, target: '/config' },
        ...this.operatorFiles().map(([source, target]): Mount => ({ type: 'bind', source, target, readOnly: true })),
      ],
      config: { ...BOOTSTRAP, content: `${bootstrap}\n`, uid: 0, gid: 0, mode: 0o644 },
    };
    const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex');
    return { ...spec, labels: { ...spec.labels, [LABEL_PROXY_SPEC]: hash } };
  }

  /** Operator configuration (not tenant input) Caddy must read: absolute host path (Docker wants one) → path inside. */
  private operatorFiles(): [string, string][] {
    const { acme, wildcard } = this.deps.edge;
    const files: [string, string][] = [
      ...(acme.caRootsFile ? [[acme.caRootsFile, PROXY_FILES.acmeCaRoots] as [string, string]] : []),
      ...(wildcard
        ? [
            [wildcard.certFile, PROXY_FILES.wildcardCert] as [string, string],
            [wildcard.keyFile, PROXY_FILES.wildcardKey] as [string, string],
          ]
        : []),
    ];
    return files.map(([source, target]) => [resolve(source), target]);
  }

  private async createOrStart(): Promise<ProxyEnsured> {
    const runtime = await this.deps.runtime();
    const spec = this.spec();
    const state = await runtime.state(this.name);
    if (state && state.labels[LABEL_PROXY_SPEC] === spec.labels[LABEL_PROXY_SPEC]) {
      if (state.running) return 'running';
      this.deps.logger.info({ container: this.name }, 'edge: starting the managed proxy again');
      await runtime.start(this.name);
      return 'started';
    }
    await this.checkPrerequisites(runtime, spec);
    if (state) {
      // Made with other settings (image, admin port, files): its autosaved configuration would
      // listen on the old admin address, so it goes with the container. Certificates stay.
      this.deps.logger.info({ container: this.name }, 'edge: the proxy settings changed, making its container again');
      await runtime.remove(this.name);
      await runtime.removeVolume(this.configVolume);
    } else {
      this.deps.logger.info({ container: this.name, image: spec.image }, 'edge: creating the managed proxy');
    }
    const labels = namespaceLabels(this.deps.namespace, MANAGED_PROXY_KIND, this.deps.hostId);
    await runtime.ensureVolume(this.dataVolume, labels);
    await runtime.ensureVolume(this.configVolume, labels);
    await runtime.createProxyServer(spec);
    await runtime.start(this.name);
    return 'created';
  }

  private async checkPrerequisites(runtime: Runtime, spec: ProxyServerSpec): Promise<void> {
    if (!(await runtime.hasImage(spec.image)))
      throw new MarinaError(
        'MARINA_E_IMAGE_MISSING',
        `The proxy image ${spec.image} is not on host ${this.deps.hostId}. Pull it there (docker pull ${spec.image}) or set MARINA_CADDY_IMAGE.`,
      );
    // Docker would refuse a missing source, or worse make an empty folder in its place.
    for (const [source] of this.operatorFiles()) {
      const file = await stat(source).catch(() => undefined);
      if (!file?.isFile())
        throw new MarinaError(
          'MARINA_E_PROXY_UNAVAILABLE',
          `${source} (MARINA_ACME_CA_ROOTS or MARINA_EDGE_WILDCARD_CERT/KEY) is not a file on this host: the managed proxy mounts it read-only.`,
        );
    }
  }
}
