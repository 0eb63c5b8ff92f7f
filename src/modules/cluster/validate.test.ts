import { describe, expect, it } from 'vitest';
import { requireAccess, requireEngineUrl, requireSsh } from './validate.js';

const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
const fingerprint = `SHA256:${'A'.repeat(43)}`;
const tls = { ca: 'x', cert: 'y', key: 'z' };

describe('what a platform admin gives to add a host', () => {
  it('takes tcp:// (mutual TLS) and ssh://user@host[:port], and nothing else', () => {
    expect(requireEngineUrl('tcp://10.0.0.1:2376')).toEqual({ host: '10.0.0.1', port: 2376, kind: 'tls' });
    expect(requireEngineUrl('ssh://marina@node1.example.com')).toEqual({
      host: 'node1.example.com',
      port: 22,
      kind: 'ssh',
    });
    expect(requireEngineUrl('ssh://root@10.0.0.2:2222').port).toBe(2222);
    expect(() => requireEngineUrl('ssh://10.0.0.2')).toThrow(/names its user/);
    expect(() => requireEngineUrl('ssh://root:secret@10.0.0.2')).toThrow(/not an engine address/);
    expect(() => requireEngineUrl('ssh://root@10.0.0.2/path')).toThrow(/not an engine address/);
    expect(() => requireEngineUrl('tcp://root@10.0.0.2')).toThrow(/has no user/);
    expect(() => requireEngineUrl('unix:///var/run/docker.sock')).toThrow(/not an engine address/);
    expect(() => requireEngineUrl('http://10.0.0.2:2375')).toThrow(/not an engine address/);
  });

  it('wants the material that goes with the address, checked', () => {
    expect(requireAccess('ssh', { ssh: { privateKey: key, hostKeyFingerprint: fingerprint } })).toEqual({
      privateKey: key,
      hostKeyFingerprint: fingerprint,
    });
    expect(() => requireAccess('ssh', { tls })).toThrow(/takes ssh/);
    expect(() => requireAccess('ssh', {})).toThrow(/needs ssh/);
    expect(() => requireAccess('tls', { ssh: { privateKey: key, hostKeyFingerprint: fingerprint } })).toThrow(
      /takes tls/,
    );
    expect(() => requireAccess('tls', {})).toThrow(/needs tls/);
    expect(() => requireSsh({ privateKey: 'not a key', hostKeyFingerprint: fingerprint })).toThrow(/not a private key/);
    expect(() =>
      requireSsh({
        privateKey: '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nabc\n-----END RSA PRIVATE KEY-----',
        hostKeyFingerprint: fingerprint,
      }),
    ).toThrow(/encrypted/);
    expect(() => requireSsh({ privateKey: key, hostKeyFingerprint: 'MD5:aa:bb' })).toThrow(/SHA256/);
  });
});
