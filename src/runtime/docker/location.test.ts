import { generateKeyPairSync } from 'node:crypto';
import type { ConnectConfig } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../adapters/ssh/fingerprint.js';
import { parseDockerHost } from './location.js';
import { SshDialAgent } from './ssh-agent.js';

const hostKey = Buffer.from('a host key blob');
const ssh = { privateKey: 'PRIVATE', hostKeyFingerprint: fingerprintOf(hostKey) };
const tls = { ca: 'CA', cert: 'CERT', key: 'KEY' };
/** The SSH connection the engine's agent makes. */
const configOf = (address: string) =>
  (parseDockerHost(address, ssh) as unknown as { agent: { config: ConnectConfig } }).agent.config;

describe('where an engine is, as dockerode takes it', () => {
  it('reads sockets, TCP with mutual TLS, and SSH with a user and port', () => {
    expect(parseDockerHost('unix:///var/run/docker.sock')).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(parseDockerHost('tcp://10.0.0.1:2376', tls)).toEqual({
      host: '10.0.0.1',
      port: 2376,
      protocol: 'https',
      ...tls,
    });
    const options = parseDockerHost('ssh://marina@10.0.0.2:2222', ssh) as { agent: SshDialAgent };
    expect(options).toMatchObject({ protocol: 'http', host: '10.0.0.2', port: 2222 });
    expect(options.agent).toBeInstanceOf(SshDialAgent);
    expect(configOf('ssh://marina@10.0.0.2:2222')).toMatchObject({ username: 'marina', privateKey: 'PRIVATE' });
    expect(configOf('ssh://root@10.0.0.2').port).toBe(22);
  });

  it('accepts only the pinned host key over SSH, and needs the key material', () => {
    const verify = configOf('ssh://root@10.0.0.2').hostVerifier as (key: Buffer) => boolean;
    expect(verify(hostKey)).toBe(true);
    expect(verify(Buffer.from('another host key'))).toBe(false);
    expect(() => parseDockerHost('ssh://root@10.0.0.2')).toThrow(/needs a private key and a host key/);
    expect(() => parseDockerHost('ssh://root@10.0.0.2', tls)).toThrow(/needs a private key/);
    expect(() => parseDockerHost('ftp://10.0.0.2')).toThrow(/unsupported Docker host/);
  });

  it('fingerprints a real host key as ssh-keygen does (SHA256, unpadded base64)', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' });
    expect(fingerprintOf(raw)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
