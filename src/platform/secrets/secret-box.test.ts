import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type SealedAt, SecretBox } from './secret-box.js';

const AT: SealedAt = { table: 'instances', column: 'db_password', row: '6f1c7b62-0d5e-4c1a-9a55-2f1f4c0b7e11' };

/** v1 as it was written before row binding: AES-256-GCM, key = the hex key or SHA-256 of the passphrase. */
function sealV1(passphrase: string, plain: string): string {
  const key = /^[0-9a-f]{64}$/i.test(passphrase)
    ? Buffer.from(passphrase, 'hex')
    : createHash('sha256').update(`marina-secret-key:${passphrase}`).digest();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), body]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/** Opens a v2 value with a key derived here, independently: pins the KDF and the associated data. */
function openWithKey(key: Buffer, sealed: string, at: SealedAt): string {
  const [, iv, tag, body] = sealed.split('.');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'));
  decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
  decipher.setAAD(Buffer.from(`marina\n${at.table}\n${at.column}\n${at.row}`));
  return Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64url')), decipher.final()]).toString('utf8');
}

describe('SecretBox', () => {
  it('seals and opens, with a fresh nonce each time', () => {
    const box = SecretBox.fromKey(randomBytes(32));
    const a = box.seal('s3cret pässword', AT);
    const b = box.seal('s3cret pässword', AT);
    expect(a).not.toBe(b);
    expect(a.startsWith('v2.')).toBe(true);
    expect(a).not.toContain('s3cret');
    expect(box.open(a, AT)).toBe('s3cret pässword');
  });

  it('binds a value to its table, column and row: moved elsewhere, it does not open', () => {
    const box = SecretBox.fromPassphrase('one long passphrase');
    const sealed = box.seal('value', AT);
    for (const elsewhere of [
      { ...AT, row: '0b9f2a4e-1111-4c1a-9a55-2f1f4c0b7e11' },
      { ...AT, column: 'master_password' },
      { ...AT, table: 'database_servers', column: 'superuser_password' },
    ])
      expect(() => box.open(sealed, elsewhere)).toThrow(/cannot be decrypted/);
    expect(box.open(sealed, AT)).toBe('value');
  });

  it('refuses tampered ciphertexts and the wrong key', () => {
    const box = SecretBox.fromPassphrase('one key, long enough');
    const sealed = box.seal('value', AT);
    const parts = sealed.split('.');
    const body = parts[3] ?? '';
    const flipped = [parts[0], parts[1], parts[2], `${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`].join('.');
    expect(() => box.open(flipped, AT)).toThrow(/cannot be decrypted/);
    expect(() => SecretBox.fromPassphrase('another key, long enough').open(sealed, AT)).toThrow(/cannot be decrypted/);
    expect(() => SecretBox.fromKey(randomBytes(32)).open(sealed, AT)).toThrow(/cannot be decrypted/);
    expect(() => box.open('plain text', AT)).toThrow(/not a sealed secret/);
  });

  it('derives its key with HKDF-SHA256 from a random key and scrypt from a passphrase', () => {
    const random = randomBytes(32);
    const fromKey = SecretBox.fromKey(random).seal('k', AT);
    const hkdf = Buffer.from(hkdfSync('sha256', random, 'marina/secret-box', 'marina/secret-box/v2/aes-256-gcm', 32));
    expect(openWithKey(hkdf, fromKey, AT)).toBe('k');
    // The hex form (the key file's) is the same random key.
    expect(SecretBox.fromPassphrase(random.toString('hex')).open(fromKey, AT)).toBe('k');
    expect(SecretBox.fromPassphrase(`base64:${random.toString('base64')}`).open(fromKey, AT)).toBe('k');
    // The raw key itself is not the encryption key.
    expect(() => openWithKey(random, fromKey, AT)).toThrow();

    const fromPassphrase = SecretBox.fromPassphrase('correct horse battery staple').seal('p', AT);
    const salt = createHash('sha256').update('marina/secret-box/v2/scrypt-salt').digest();
    const scrypt = scryptSync('correct horse battery staple', salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 << 20 });
    expect(openWithKey(scrypt, fromPassphrase, AT)).toBe('p');
    expect(() =>
      openWithKey(
        createHash('sha256').update('marina-secret-key:correct horse battery staple').digest(),
        fromPassphrase,
        AT,
      ),
    ).toThrow();
  });

  it('refuses v1 values, which only the one-time re-seal opens, with the key they were sealed with', () => {
    for (const passphrase of ['an old passphrase', randomBytes(32).toString('hex')]) {
      const old = sealV1(passphrase, 'legacy secret');
      const box = SecretBox.fromPassphrase(passphrase);
      expect(SecretBox.isLegacy(old)).toBe(true);
      expect(() => box.open(old, AT)).toThrow(/v1/);
      expect(box.openLegacy(old)).toBe('legacy secret');
      expect(() => SecretBox.fromPassphrase('some other passphrase').openLegacy(old)).toThrow(/cannot be decrypted/);
    }
  });
});
