import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, TRUST_PROXY_EXPECTS } from './config.js';
import { ConfigError } from './platform/errors.js';

describe('loadConfig', () => {
  it('has embedded defaults: port 9998, ./data, embedded PostgreSQL', () => {
    const config = loadConfig({}, '/srv/marina');
    expect(config).toMatchObject({
      port: 9998,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:9998',
      dataDir: '/srv/marina/data',
      databaseUrl: undefined,
      logLevel: 'info',
    });
  });

  it('reads MARINA_* variables', () => {
    const config = loadConfig({
      MARINA_PORT: '8080',
      MARINA_DATA_DIR: '/var/lib/marina',
      MARINA_DATABASE_URL: 'postgres://marina:pw@db:5432/marina',
      MARINA_PUBLIC_URL: 'https://marina.example.com/',
      MARINA_TRUST_PROXY: '2',
      MARINA_SESSION_IDLE_MINUTES: '60',
    });
    expect(config).toMatchObject({
      port: 8080,
      dataDir: '/var/lib/marina',
      databaseUrl: 'postgres://marina:pw@db:5432/marina',
      publicUrl: 'https://marina.example.com',
      trustProxy: 2,
      session: { idleMinutes: 60, maxAgeHours: 168 },
    });
  });

  it('names every bad variable and what it expects', () => {
    let error: unknown;
    try {
      loadConfig({
        MARINA_PORT: '70000',
        MARINA_DATABASE_URL: 'mysql://x',
        MARINA_PUBLIC_URL: 'ftp://x',
        MARINA_TRUST_PROXY: 'maybe',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([
      'MARINA_PORT: expected an integer from 1 to 65535, got "70000"',
      'MARINA_PUBLIC_URL: expected an http(s) URL such as https://marina.example.com, got "ftp://x"',
      'MARINA_DATABASE_URL: expected a postgres:// URL (leave unset for the embedded database), got "mysql://x"',
      `MARINA_TRUST_PROXY: expected ${TRUST_PROXY_EXPECTS}, got "maybe"`,
    ]);
  });

  it('takes MARINA_TRUST_PROXY as a hop count or a list of proxy addresses, never as "trust anyone"', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ MARINA_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ MARINA_TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(loadConfig({ MARINA_TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ MARINA_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,fd00::/8' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      'fd00::/8',
    ]);
    for (const bad of ['true', 'yes', '10.0.0.0/33', '10.0.0.300', 'proxy.example.com', '1,', '-1']) {
      expect(() => loadConfig({ MARINA_TRUST_PROXY: bad }), bad).toThrow(ConfigError);
    }
    expect(() => loadConfig({ MARINA_TRUST_PROXY: 'true' })).toThrow(/hop count/);
  });

  it("publishes instances' ports without the edge, and not with it unless MARINA_INSTANCE_PUBLISH=publish", () => {
    const edge = { MARINA_BASE_DOMAIN: 'apps.example.com' };
    expect(loadConfig({}).instances.publishPorts).toBe(true);
    expect(loadConfig(edge).instances.publishPorts).toBe(false);
    expect(loadConfig({ ...edge, MARINA_INSTANCE_PUBLISH: 'publish' }).instances.publishPorts).toBe(true);
    expect(loadConfig({ ...edge, MARINA_INSTANCE_PUBLISH: 'none' }).instances.publishPorts).toBe(false);
    expect(() => loadConfig({ ...edge, MARINA_INSTANCE_PUBLISH: 'yes' })).toThrow(
      /MARINA_INSTANCE_PUBLISH: expected publish/,
    );
    // Nothing else would reach an instance: refused rather than an unreachable Odoo.
    expect(() => loadConfig({ MARINA_INSTANCE_PUBLISH: 'none' })).toThrow(/none needs the edge/);
  });

  it('samples instances every MARINA_METRICS_INTERVAL_S seconds (60 by default, 1 to 3600)', () => {
    expect(loadConfig({}).metrics.intervalMs).toBe(60_000);
    expect(loadConfig({ MARINA_METRICS_INTERVAL_S: '5' }).metrics.intervalMs).toBe(5000);
    for (const bad of ['0', '3601', '1.5', 'soon'])
      expect(() => loadConfig({ MARINA_METRICS_INTERVAL_S: bad }), bad).toThrow(/MARINA_METRICS_INTERVAL_S/);
  });

  it('checks uptime every MARINA_UPTIME_INTERVAL_S (30 s), opening after 3 failures and closing after 2 good checks', () => {
    expect(loadConfig({}).uptime).toEqual({ intervalMs: 30_000, failThreshold: 3, okThreshold: 2 });
    const set = loadConfig({
      MARINA_UPTIME_INTERVAL_S: '5',
      MARINA_UPTIME_FAIL_THRESHOLD: '4',
      MARINA_UPTIME_OK_THRESHOLD: '1',
    });
    expect(set.uptime).toEqual({ intervalMs: 5000, failThreshold: 4, okThreshold: 1 });
    for (const bad of ['0', '3601', 'soon'])
      expect(() => loadConfig({ MARINA_UPTIME_INTERVAL_S: bad }), bad).toThrow(/MARINA_UPTIME_INTERVAL_S/);
    expect(() => loadConfig({ MARINA_UPTIME_FAIL_THRESHOLD: '0' })).toThrow(/MARINA_UPTIME_FAIL_THRESHOLD/);
  });

  it('reads an optional JSON file, which the environment overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'marina-config-'));
    const file = join(dir, 'marina.json');
    writeFileSync(file, JSON.stringify({ MARINA_PORT: 7000, MARINA_LOG_LEVEL: 'debug' }));
    expect(loadConfig({ MARINA_CONFIG: file })).toMatchObject({ port: 7000, logLevel: 'debug' });
    expect(loadConfig({ MARINA_CONFIG: file, MARINA_PORT: '7001' }).port).toBe(7001);
    writeFileSync(file, JSON.stringify({ MARINA_PORTT: 1 }));
    expect(() => loadConfig({ MARINA_CONFIG: file })).toThrow(/unknown key MARINA_PORTT/);
    writeFileSync(file, '{ not json');
    expect(() => loadConfig({ MARINA_CONFIG: file })).toThrow(/MARINA_CONFIG: cannot read/);
  });
});
