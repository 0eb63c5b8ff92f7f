import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.js';

describe('SecretBox', () => {
  it('seals and opens, with a fresh nonce each time', () => {
    const box = new SecretBox(randomBytes(32));
    const a = box.seal('s3cret pässword');
    const b = box.seal('s3cret pässword');
    expect(a).not.toBe(b);
    expect(a).not.toContain('s3cret');
    expect(box.open(a)).toBe('s3cret pässword');
  });

  it('refuses tampered ciphertexts and the wrong key', () => {
    const box = SecretBox.fromPassphrase('one key');
    const sealed = box.seal('value');
    const parts = sealed.split('.');
    const body = parts[3] ?? '';
    const flipped = [parts[0], parts[1], parts[2], `${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`].join('.');
    expect(() => box.open(flipped)).toThrow(/cannot be decrypted/);
    expect(() => SecretBox.fromPassphrase('another key').open(sealed)).toThrow(/cannot be decrypted/);
    expect(() => box.open('plain text')).toThrow(/not a sealed secret/);
  });
});
