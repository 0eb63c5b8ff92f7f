import { expect, inject, vi } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { makeOrganizationWithAdmin, makeProject, requestInstance } from '../../../test/helpers/factories.js';
import { createRoleAndDatabase, dropDatabaseAndRole, withClient } from '../../adapters/postgres/admin.js';
import { MemoryRuntime } from '../../runtime/memory.js';
import { TestDnsServer } from './domains-test-support.js';

export const IMAGE = 'marina-test/odoo-standin';
export const BASE = 'apps.marina.test';
export const PROXY_V4 = '203.0.113.10';
export const PROXY_V6 = '2001:db8::10';
export const HTTPS_PORT = 8443;

export interface DnsRecord {
  type: string;
  name: string;
  value: string;
}
export interface Domain {
  id: string;
  hostname: string;
  displayName: string;
  method: string;
  status: string;
  isPrimary: boolean;
  records: DnsRecord[];
  found: { checkedAt: string; records: DnsRecord[]; error?: string } | null;
  lastError: string | null;
  nextCheckAt: string | null;
  verifiedAt: string | null;
  ownCertificate: { subject: string; issuer: string; notAfter: string } | null;
}

export interface InstanceRef {
  id: string;
  hostname: string;
}

/**
 * What the domains tests share: Marina with the edge on (real PostgreSQL) and a real DNS server on
 * loopback (pebble-challtestsrv); two organizations, ACME (a staging and a production instance) and
 * Globex (one instance). Instances live on the in-memory stand-in runtime: their provisioning fails
 * (no Odoo runs), which leaves the records — and a platform name — the domains need; the staging
 * instance gets an "Odoo database" (its own role, an ir_config_parameter table) made by hand.
 */
export class DomainsWorld {
  private readonly databases: string[] = [];
  platformAdmin!: Browser;
  acme!: Browser;
  globex!: Browser;
  staging!: InstanceRef;
  production!: InstanceRef;
  globexInstance!: InstanceRef;
  /** Reads an ir_config_parameter of the staging instance's stand-in Odoo database. */
  param!: (key: string) => Promise<string | undefined>;

  private constructor(
    readonly t: TestApp,
    readonly dns: TestDnsServer,
  ) {}

  static async start(namespace: string): Promise<DomainsWorld> {
    const dns = await TestDnsServer.start();
    const memory = new MemoryRuntime({ images: [IMAGE] });
    const t = await createTestApp(
      {
        MARINA_NAMESPACE: namespace,
        MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
        MARINA_ODOO_17_IMAGE: IMAGE,
        MARINA_INSTANCE_BIND: '127.0.0.1',
        MARINA_BASE_DOMAIN: BASE,
        // An operator-run Caddy (none listens): no managed proxy container on the stand-in runtime.
        MARINA_CADDY_ADMIN_URL: 'http://127.0.0.1:2019',
        MARINA_EDGE_ADDRESSES: `${PROXY_V4},${PROXY_V6}`,
        MARINA_EDGE_HTTPS_PORT: String(HTTPS_PORT),
        MARINA_DNS_RESOLVER: dns.resolver,
      },
      { runtime: () => memory },
    );
    const w = new DomainsWorld(t, dns);
    await t.services.startBackground();
    w.platformAdmin = await adminBrowser(t);
    w.acme = (await makeOrganizationWithAdmin(t, w.platformAdmin, { slug: 'acme' })).admin;
    w.globex = (await makeOrganizationWithAdmin(t, w.platformAdmin, { slug: 'globex' })).admin;
    const erp = await makeProject(as(t, w.acme), { organization: 'acme', name: 'erp' });
    w.staging = await w.instanceFailed(w.acme, erp.id, 'staging', 'staging');
    w.production = await w.instanceFailed(w.acme, erp.id, 'prod', 'production');
    const shop = await makeProject(as(t, w.globex), { organization: 'globex', name: 'shop' });
    w.globexInstance = await w.instanceFailed(w.globex, shop.id, 'main', 'staging');
    w.param = await w.odooDatabase(w.staging.id);
    return w;
  }

  private async instanceFailed(
    who: Browser,
    project: string,
    name: string,
    stage: 'staging' | 'production',
  ): Promise<InstanceRef> {
    const call = as(this.t, who);
    const made = await requestInstance(call, { project, name, stage });
    await vi.waitFor(
      async () => expect((await call('GET', `/api/v1/jobs/${made.job.id}`)).json().job.status).toBe('failed'),
      { timeout: 20_000, interval: 100 },
    );
    const row = await this.t.services.instances.row(made.instance.id);
    expect(row.hostname).toBeTruthy();
    return { id: row.id, hostname: row.hostname ?? '' };
  }

  /** An "Odoo database" for an instance: its own role and database with Odoo's ir_config_parameter table. */
  private async odooDatabase(instanceId: string): Promise<(key: string) => Promise<string | undefined>> {
    const { databaseServers } = this.t.services;
    const row = await this.t.services.instances.row(instanceId);
    const server = await databaseServers.get(row.database_server_id ?? '');
    await createRoleAndDatabase(
      await databaseServers.connection(server),
      row.db_name,
      databaseServers.roleOf(row).password,
    );
    this.databases.push(row.db_name);
    const asTenant = await databaseServers.forInstance(row);
    await withClient(asTenant, row.db_name, (c) =>
      c.query('CREATE TABLE ir_config_parameter (id serial PRIMARY KEY, key varchar NOT NULL UNIQUE, value text)'),
    );
    return async (key) =>
      withClient(asTenant, row.db_name, async (c) => {
        const result = await c.query<{ value: string }>('SELECT value FROM ir_config_parameter WHERE key = $1', [key]);
        return result.rows[0]?.value;
      });
  }

  async add(who: Browser, instanceId: string, body: Record<string, unknown>): Promise<Domain> {
    const response = await as(this.t, who)('POST', `/api/v1/instances/${instanceId}/domains`, body);
    expect(response.statusCode, response.body).toBe(201);
    return response.json<{ domain: Domain }>().domain;
  }

  async verify(who: Browser, id: string): Promise<Domain> {
    const response = await as(this.t, who)('POST', `/api/v1/domains/${id}/verify`);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ domain: Domain }>().domain;
  }

  /** A domain of its own for a test, verified by its TXT record. */
  async verifiedDomain(who: Browser, instanceId: string, hostname: string): Promise<Domain> {
    const added = await this.add(who, instanceId, { hostname, method: 'txt' });
    await this.dns.setTxt(added.records[0]?.name ?? '', added.records[0]?.value ?? '');
    const verified = await this.verify(who, added.id);
    expect(verified.status).toBe('verified');
    return verified;
  }

  async close(): Promise<void> {
    const server = await this.t.services.databaseServers.forInstances('local').catch(() => undefined);
    for (const name of this.databases) {
      if (server) await dropDatabaseAndRole(await this.t.services.databaseServers.connection(server), name);
    }
    await this.t.close();
    await this.dns.stop();
  }
}
