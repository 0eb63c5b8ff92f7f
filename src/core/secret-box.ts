import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Encrypts secrets at rest (database passwords, master passwords, storage keys) with AES-256-GCM.
 * Stored form: `v1.<iv>.<tag>.<ciphertext>` in base64url. The key comes from MARINA_SECRET_KEY or
 * a generated key file; losing it makes the stored secrets unreadable, so back it up with the data.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
    this.key = key;
  }

  /** Any passphrase becomes a 32-byte key; a 64-character hex key is used as is. */
  static fromPassphrase(passphrase: string): SecretBox {
    if (/^[0-9a-f]{64}$/i.test(passphrase)) return new SecretBox(Buffer.from(passphrase, 'hex'));
    return new SecretBox(createHash('sha256').update(`marina-secret-key:${passphrase}`).digest());
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join(
      '.',
    );
  }

  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('a stored secret cannot be decrypted: MARINA_SECRET_KEY or the key file changed');
    }
  }
}
