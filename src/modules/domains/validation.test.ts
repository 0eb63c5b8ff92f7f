import { describe, expect, it } from 'vitest';
import { MarinaError } from '../../platform/errors.js';
import { recheckDelayMinutes } from './checks.js';
import { normalizeAddress } from './protection.js';
import { defaultMethod, normalizeDomain } from './validation.js';

const BASE = 'apps.marina.test';

function refusal(input: unknown): { code: string; reason: string } {
  try {
    normalizeDomain(input, BASE);
  } catch (error) {
    if (error instanceof MarinaError) return { code: error.code, reason: String(error.details?.reason) };
    throw error;
  }
  throw new Error(`${String(input)} was accepted`);
}

describe('custom domain names', () => {
  it('normalizes: IDNA ASCII form, lower case, one trailing dot stripped, Unicode form for display', () => {
    expect(normalizeDomain('Shop.Example.COM.', BASE)).toEqual({
      ascii: 'shop.example.com',
      display: 'shop.example.com',
    });
    expect(normalizeDomain('  Bücher.DE ', BASE)).toEqual({ ascii: 'xn--bcher-kva.de', display: 'bücher.de' });
    expect(normalizeDomain('xn--bcher-kva.de', BASE).display).toBe('bücher.de');
    expect(normalizeDomain(`${'a'.repeat(63)}.example.com`, BASE).ascii).toHaveLength(75);
  });

  it.each([
    ['', 'required'],
    ['*.example.com', 'wildcard'],
    ['shop.*.example.com', 'wildcard'],
    ['192.0.2.10', 'IP address'],
    ['2001:db8::1', 'IP address'],
    ['[2001:db8::1]', 'IP address'],
    ['1.2.3', 'number'],
    ['shop', 'single word'],
    ['localhost', 'single word'],
    ['localhost.', 'single word'],
    ['printer.local', 'private or reserved'],
    ['db.internal', 'private or reserved'],
    ['router.lan', 'private or reserved'],
    ['foo.localhost', 'private or reserved'],
    ['x.edge.marina.internal', 'private or reserved'],
    ['apps.marina.test', 'platform'],
    ['erp-acme.apps.marina.test', 'platform'],
    ['ERP.Apps.Marina.Test.', 'platform'],
    ['a..example.com', 'empty label'],
    ['.example.com', 'empty label'],
    ['example.com..', 'empty label'],
    ['-shop.example.com', 'letters, digits and hyphens'],
    ['shop-.example.com', 'letters, digits and hyphens'],
    ['shop_1.example.com', 'letters, digits and hyphens'],
    [`${'a'.repeat(64)}.example.com`, '63 characters'],
    [`${'a.'.repeat(126)}com`, '253 characters'],
    ['https://shop.example.com', 'without scheme'],
    ['shop.example.com:443', 'without scheme'],
    ['shop.example.com/path', 'without scheme'],
    ['shop example.com', 'without scheme'],
  ])('refuses %j (%s) with MARINA_E_DOMAIN_INVALID and the reason', (input, reason) => {
    const refused = refusal(input);
    expect(refused.code).toBe('MARINA_E_DOMAIN_INVALID');
    expect(refused.reason).toContain(reason);
  });

  it('refuses what is not a string', () => {
    expect(refusal(42).code).toBe('MARINA_E_DOMAIN_INVALID');
    expect(refusal(null).reason).toContain('required');
  });

  it('defaults to apex for a registrable name, cname below it', () => {
    expect(defaultMethod('example.com')).toBe('apex');
    expect(defaultMethod('example.co.uk')).toBe('apex');
    expect(defaultMethod('shop.example.com')).toBe('cname');
    expect(defaultMethod('www.example.co.uk')).toBe('cname');
  });
});

describe('the re-check backoff', () => {
  it('waits 1, 2, 4 … minutes, never more than an hour', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map(recheckDelayMinutes)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });
});

describe('protection addresses', () => {
  it('normalizes IPs and CIDR blocks and refuses anything else', () => {
    expect(normalizeAddress(' 203.0.113.7 ')).toBe('203.0.113.7');
    expect(normalizeAddress('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(normalizeAddress('2001:DB8::/32')).toBe('2001:db8::/32');
    for (const bad of ['', 'example.com', '10.0.0.0/33', '2001:db8::/129', '10.0.0.1/8/1', '10.0.0/8', '1.2.3.4/x'])
      expect(() => normalizeAddress(bad), bad).toThrow(MarinaError);
  });
});
