import { describe, expect, it } from 'vitest';
import { dbFilterFor, renderOdooConf } from './config-file.js';
import { LIGHT_WORKER_MB, workerSettings } from './sizing.js';
import { buildCatalog, parseOdooVersion, versionFacts } from './versions.js';

describe('version catalog', () => {
  it('maps 16–19 to the official images unless overridden', () => {
    const catalog = buildCatalog({ '17.0': { image: 'marina-test/odoo-runtime', sourceMount: '/src/odoo17' } });
    expect(catalog['16.0'].image).toBe('odoo:16');
    expect(catalog['19.0'].image).toBe('odoo:19');
    expect(catalog['17.0']).toMatchObject({ image: 'marina-test/odoo-runtime', sourceMount: '/src/odoo17' });
  });

  it('parses versions and knows their differences', () => {
    expect(parseOdooVersion('17')).toBe('17.0');
    expect(parseOdooVersion('17.0')).toBe('17.0');
    for (const bad of ['15.0', '17.1', 'latest', '', 17, '../17']) expect(parseOdooVersion(bad)).toBeUndefined();
    expect(versionFacts('17.0').withoutDemo).toBe('all');
    expect(versionFacts('19.0').withoutDemo).toBe('True');
    expect(versionFacts('18.0').healthPath).toBe('/web/health?db_server_status=1');
  });
});

describe('sizing', () => {
  it('follows workers = 2 × CPUs + 1 when memory allows', () => {
    expect(workerSettings({ cpus: 2, memoryMb: 4096 }).workers).toBe(5);
    expect(workerSettings({ cpus: 1, memoryMb: 2048 }).workers).toBe(3);
  });

  it('is held back by memory, and uses threaded mode below 1 GiB', () => {
    expect(workerSettings({ cpus: 8, memoryMb: 1024 }).workers).toBe(3);
    expect(workerSettings({ cpus: 8, memoryMb: 1536 }).workers).toBe(6);
    expect(workerSettings({ cpus: 4, memoryMb: 768 }).workers).toBe(0);
  });

  it("fits the workers in the container by their real memory, and keeps Odoo's virtual-memory limits", () => {
    for (const size of [
      { cpus: 1, memoryMb: 1024 },
      { cpus: 2, memoryMb: 2048 },
      { cpus: 4, memoryMb: 8192 },
      { cpus: 16, memoryMb: 65536 },
    ]) {
      const w = workerSettings(size);
      expect((w.workers + w.maxCronThreads + 1) * LIGHT_WORKER_MB).toBeLessThanOrEqual(size.memoryMb);
      // RLIMIT_AS per worker (odoo/service/server.py): Odoo's defaults, far above real use.
      expect(w.limitMemorySoft).toBe(2048 * 2 ** 20);
      expect(w.limitMemoryHard).toBe(2560 * 2 ** 20);
    }
  });
});

describe('odoo.conf', () => {
  const base = {
    version: '17.0' as const,
    dbName: 'acme_prod',
    dbHost: 'marina-pg',
    dbPort: 5432,
    dbUser: 'acme_prod',
    dbPassword: 'db-secret',
    adminPassword: 'master-secret',
    addonsPaths: ['/mnt/extra-addons/custom'],
    dataDir: '/var/lib/odoo',
    workers: workerSettings({ cpus: 2, memoryMb: 2048 }),
  };

  it('serves one database, with no database manager and no default master password', () => {
    const conf = renderOdooConf(base);
    expect(conf).toContain('[options]');
    expect(conf).toContain('db_name = acme_prod');
    expect(conf).toContain('dbfilter = ^acme_prod$');
    expect(conf).toContain('list_db = False');
    expect(conf).toContain('admin_passwd = master-secret');
    expect(conf).toContain('proxy_mode = True');
    expect(conf).toContain('without_demo = all');
    expect(conf).toContain('workers = 5');
    expect(conf).toMatch(/limit_memory_hard = \d+/);
  });

  it('anchors and escapes the database filter', () => {
    expect(dbFilterFor('a.b')).toBe('^a\\.b$');
  });

  it('refuses values that would start a new line (ini injection)', () => {
    expect(() => renderOdooConf({ ...base, dbPassword: 'x\nadmin_passwd = admin' })).toThrow(/one line/);
  });

  it('points the SMTP fallback of staging and development copies nowhere; production keeps its own', () => {
    expect(renderOdooConf({ ...base, blockOutgoingMail: true })).toMatch(/^smtp_server = invalid$/m);
    expect(renderOdooConf(base)).not.toMatch(/smtp_server/);
  });
});

describe('Odoo password hashes', () => {
  it('match passlib pbkdf2_sha512, which Odoo verifies', async () => {
    const { odooPasswordHash } = await import('./password.js');
    // Made by passlib: pbkdf2_sha512.using(salt=b'0123456789abcdef', rounds=1000).hash('correct horse')
    const passlib =
      '$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg$OM0FAoIqCVK1sWtxDiffVlBejtLa.ks4TP71JiecwuSZCG8iLbnlIEPOMoVX.i2B2wkSxjQ8CRGR9OkNGuIPMQ';
    expect(await odooPasswordHash('correct horse', 1000, Buffer.from('0123456789abcdef'))).toBe(passlib);
  });
});
