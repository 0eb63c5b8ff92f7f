import { describe, expect, it } from 'vitest';
import {
  addressBytes,
  checkAddress,
  checkOutbound,
  classifyAddress,
  normalizeCidr,
  OutboundLookupError,
  type OutboundPolicy,
  OutboundRefusedError,
} from './outbound.js';

const open: OutboundPolicy = { allowedRanges: [], protectedPorts: [] };

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.0', 'link-local'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:169.254.169.254', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['::2', 'unspecified'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::', 'loopback'],
    ['not-an-ip', 'reserved'],
  ])('%s is %s', (address, category) => {
    expect(classifyAddress(address)).toBe(category);
  });

  it.each([
    '1.1.1.1',
    '9.255.255.255',
    '11.0.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.167.255.255',
    '192.169.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '223.255.255.255',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    'fe7f:ffff::1',
    '2a00::1',
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toBeNull();
  });

  it('reads every IPv6 spelling', () => {
    expect([...(addressBytes('::ffff:1.2.3.4') ?? [])].slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
    expect([...(addressBytes('1::') ?? [])]).toEqual([0, 1, ...Array(14).fill(0)]);
    expect(addressBytes('1:2:3:4:5:6:7:8')?.[15]).toBe(8);
    expect(addressBytes('example.com')).toBeNull();
  });
});

describe('allowed ranges', () => {
  it('are normalized, and refuse nonsense', () => {
    expect(normalizeCidr('127.0.0.1/8')).toBe('127.0.0.0/8');
    expect(normalizeCidr('10.1.2.3')).toBe('10.1.2.3/32');
    expect(normalizeCidr('fd00:1:2::5/16')).toBe('fd00::/16');
    expect(normalizeCidr('::1')).toBe('::1/128');
    expect(normalizeCidr('10.0.0.0/33')).toBeNull();
    expect(normalizeCidr('10.0.0/8')).toBeNull();
    expect(normalizeCidr('10.0.0.0/8/1')).toBeNull();
    expect(normalizeCidr('example.com/8')).toBeNull();
  });

  it('let an internal address through only inside an allowed range, mapped forms included', () => {
    const policy: OutboundPolicy = { allowedRanges: ['127.0.0.0/8'], protectedPorts: [] };
    expect(() => checkAddress('127.0.0.1', '127.0.0.1', 9000, policy)).not.toThrow();
    expect(() => checkAddress('x', '::ffff:127.0.0.2', 9000, policy)).not.toThrow();
    expect(() => checkAddress('x', '::1', 9000, policy)).toThrow(OutboundRefusedError);
    expect(() => checkAddress('x', '169.254.169.254', 80, policy)).toThrow(/link-local/);
    expect(() => checkAddress('x', '8.8.8.8', 443, open)).not.toThrow();
  });

  it("never let Marina's own ports through on this machine, allowed or not", () => {
    const policy: OutboundPolicy = {
      allowedRanges: ['127.0.0.0/8', '::1/128'],
      protectedPorts: [
        { from: 9998, to: 9998 },
        { from: 20000, to: 20999 },
      ],
    };
    expect(() => checkAddress('localhost', '127.0.0.1', 9998, policy)).toThrow(/Marina's own ports/);
    expect(() => checkAddress('localhost', '::1', 20500, policy)).toThrow(/Marina's own ports/);
    expect(() => checkAddress('localhost', '127.0.0.1', 21000, policy)).not.toThrow();
    // A remote host's port 9998 is nobody's business.
    expect(() => checkAddress('example.com', '93.184.215.14', 9998, policy)).not.toThrow();
  });
});

describe('checkOutbound', () => {
  it('refuses a name when any of its addresses is internal, and returns the checked one', async () => {
    const resolver = async () => [
      { address: '93.184.215.14', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    await expect(checkOutbound('mixed.example', 443, open, resolver)).rejects.toThrow(/private network/);
    const one = async () => [{ address: '2606:2800:220:1::1', family: 6 }];
    expect(await checkOutbound('v6.example', 22, open, one)).toEqual({
      host: 'v6.example',
      address: '2606:2800:220:1::1',
      family: 6,
      port: 22,
    });
    expect((await checkOutbound('[2606:2800:220:1::1]', 22, open)).address).toBe('2606:2800:220:1::1');
  });

  it('resolves names from /etc/hosts and refuses loopback ones', async () => {
    await expect(checkOutbound('localhost', 9000, open)).rejects.toThrow(OutboundRefusedError);
    await expect(checkOutbound('no-such-host.invalid', 9000, open)).rejects.toThrow(OutboundLookupError);
  });
});
