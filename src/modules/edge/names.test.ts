import { describe, expect, it } from 'vitest';
import {
  consoleLabel,
  edgeIpCandidates,
  isEdgeIp,
  MAX_LABEL,
  platformLabel,
  RESERVED_LABELS,
  uniqueLabel,
} from './names.js';

describe('platform names', () => {
  it('fills the pattern with the instance, project and organization, as one DNS label', () => {
    expect(platformLabel('{instance}-{project}-{org}', { instance: 'main', project: 'erp', org: 'acme' })).toBe(
      'main-erp-acme',
    );
    expect(platformLabel('{org}-{instance}', { instance: 'Staging_2', project: 'x', org: 'Café Co' })).toBe(
      'cafe-co-staging-2',
    );
    expect(platformLabel('odoo-{instance}', { instance: '--a--', project: '', org: '' })).toBe('odoo-a');
  });

  it('keeps a label to 63 characters without a trailing dash', () => {
    const long = platformLabel('{instance}-{project}-{org}', {
      instance: 'a'.repeat(40),
      project: 'b'.repeat(22),
      org: 'c'.repeat(30),
    });
    expect(long.length).toBeLessThanOrEqual(MAX_LABEL);
    expect(long).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    expect(long.startsWith('a'.repeat(40))).toBe(true);
  });

  it('makes a taken name unique with -2, -3…, still within 63 characters', () => {
    const taken = new Set(['main-erp-acme', 'main-erp-acme-2']);
    expect(uniqueLabel('main-erp-acme', (c) => taken.has(c))).toBe('main-erp-acme-3');
    const long = 'x'.repeat(63);
    const next = uniqueLabel(long, (c) => c === long);
    expect(next).toBe(`${'x'.repeat(61)}-2`);
    expect(next.length).toBe(63);
  });

  it('refuses reserved words', () => {
    for (const word of ['www', 'api', 'admin', 'mail', 'marina', 'localhost']) {
      expect(RESERVED_LABELS.has(word)).toBe(true);
      expect(uniqueLabel(word, () => false)).toBe(`${word}-2`);
    }
    expect(uniqueLabel('shop', () => false)).toBe('shop');
  });

  it('refuses the names mail clients and mail servers look up by convention under a domain', () => {
    for (const word of ['mta-sts', 'autoconfig', 'autodiscover', 'wpad', 'webmail', 'postmaster']) {
      expect(RESERVED_LABELS.has(word)).toBe(true);
      expect(uniqueLabel(word, () => false)).toBe(`${word}-2`);
    }
  });

  it("finds the console's own label only when its host is directly under the base domain", () => {
    expect(consoleLabel('https://my-marina.apps.example.test', 'apps.example.test')).toBe('my-marina');
    expect(consoleLabel('https://My-Marina.Apps.Example.Test:8443/x', 'apps.example.test')).toBe('my-marina');
    expect(consoleLabel('https://a.b.apps.example.test', 'apps.example.test')).toBeUndefined();
    expect(consoleLabel('https://apps.example.test', 'apps.example.test')).toBeUndefined();
    expect(consoleLabel('https://marina.example.test', 'apps.example.test')).toBeUndefined();
    expect(consoleLabel('https://evilapps.example.test', 'apps.example.test')).toBeUndefined();
    expect(consoleLabel(undefined, 'apps.example.test')).toBeUndefined();
    expect(consoleLabel('not a url', 'apps.example.test')).toBeUndefined();
  });
});

describe('edge addresses', () => {
  it('walks every address of 127.77.0.0/16 once, in a random order, never .0 or .255', () => {
    const seen = new Set<string>();
    const wrong: string[] = [];
    for (const ip of edgeIpCandidates(() => 0.5)) {
      if (!isEdgeIp(ip)) wrong.push(ip);
      seen.add(ip);
    }
    expect(wrong).toEqual([]);
    expect(seen.size).toBe(256 * 254);
    const first = (random: () => number) => edgeIpCandidates(random).next().value;
    expect(first(() => 0)).not.toBe(first(() => 0.7));
  });

  it('knows what is not an edge address', () => {
    expect(isEdgeIp('127.0.0.1')).toBe(false);
    expect(isEdgeIp('127.77.1.0')).toBe(false);
    expect(isEdgeIp('127.77.1.255')).toBe(false);
    expect(isEdgeIp('127.77.256.1')).toBe(false);
  });
});
