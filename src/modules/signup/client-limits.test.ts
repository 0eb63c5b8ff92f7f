import { describe, expect, it } from 'vitest';
import { clientKey, domainGroup, PerMinuteCounter } from './client-limits.js';

describe('whom the sign-up limits count', () => {
  it('groups IPv6 clients by /64, keeps IPv4 per address, and reads IPv4-mapped IPv6 as IPv4', () => {
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0DB8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('2001:db8::5.6.7.8')).toBe('2001:db8:0:0::/64');
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey(undefined)).toBe('unknown');
  });

  it('counts email domains by their last two labels', () => {
    expect(domainGroup('a1.attacker.tld')).toBe('attacker.tld');
    expect(domainGroup('x.y.Attacker.TLD.')).toBe('attacker.tld');
    expect(domainGroup('example.com')).toBe('example.com');
  });
});

describe('the live check counter', () => {
  it('allows the limit per client per minute, then again a minute later', () => {
    const counter = new PerMinuteCounter(3);
    const start = 1_000_000;
    expect([1, 2, 3, 4].map(() => counter.allow('a', start))).toEqual([true, true, true, false]);
    expect(counter.allow('b', start)).toBe(true);
    expect(counter.allow('a', start + 60_000)).toBe(true);
  });

  it('never remembers more clients than its cap: newcomers share one allowance, old entries go', () => {
    const counter = new PerMinuteCounter(2, 100);
    const start = 5_000_000;
    for (let i = 0; i < 1000; i++) counter.allow(`client-${i}`, start);
    expect(counter.size).toBeLessThanOrEqual(100);
    // The newcomers past the cap shared one bucket, long over its limit.
    expect(counter.allow('client-5000', start)).toBe(false);
    // A minute later the old entries are pruned and everyone starts again.
    expect(counter.allow('client-6000', start + 61_000)).toBe(true);
    expect(counter.size).toBe(1);
  });
});
