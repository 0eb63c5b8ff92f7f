import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, scryptSync } from 'node:crypto';

/**
 * Where a sealed value lives. It is bound into the ciphertext (GCM associated data), so a value
 * copied into another row or column — by someone who can write the database but not read the key —
 * does not open there: one tenant's sealed password cannot be made to serve as another's.
 */
export interface SealedAt {
  table: string;
  column: string;
  /** The row's id (or key). */
  row: string;
}

const VERSION = 'v2';
const HKDF_SALT = Buffer.from('marina/secret-box', 'utf8');
const HKDF_INFO = Buffer.from('marina/secret-box/v2/aes-256-gcm', 'utf8');
/**
 * scrypt's salt for a passphrase key. It is fixed (derived from a constant) rather than random and
 * stored: MARINA_SECRET_KEY alone, with the database, must open the secrets — a salt file lost
 * with a data folder would lose them all. A salt is public anyway; scrypt's cost (2^15 × 8, about
 * 32 MiB and 0.1 s once at start-up) is what slows guessing. A random key (the generated key file,
 * or 64 hex characters) needs no stretching and goes through HKDF.
 */
const SCRYPT_SALT = createHash('sha256').update('marina/secret-box/v2/scrypt-salt').digest();
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function associatedData(at: SealedAt): Buffer {
  for (const part of [at.table, at.column, at.row])
    if (part === '' || part.includes('\n')) throw new Error('a sealed value needs a table, a column and a row');
  return Buffer.from(`marina\n${at.table}\n${at.column}\n${at.row}`, 'utf8');
}

function gcmOpen(key: Buffer, parts: string[], ad?: Buffer): string {
  const [, iv, tag, body] = parts;
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'));
  decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
  if (ad) decipher.setAAD(ad);
  try {
    return Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(
      'a stored secret cannot be decrypted: MARINA_SECRET_KEY or the key file changed, or the value was moved from another row',
    );
  }
}

/**
 * Encrypts secrets at rest (database passwords, master passwords, storage keys) with AES-256-GCM,
 * each bound to the row and column it is stored in. Stored form: `v2.<iv>.<tag>.<ciphertext>` in
 * base64url. The key comes from MARINA_SECRET_KEY or a generated key file; losing it makes the
 * stored secrets unreadable, so back it up with the data.
 *
 * `v1` values (before row binding, key = SHA-256 of the passphrase) are refused by `open`; the
 * start-up step in secret-migration.ts re-seals them once with `openLegacy`.
 */
export class SecretBox {
  private constructor(
    private readonly key: Buffer,
    /** v1's key, only for re-sealing old values. */
    private readonly legacyKey: Buffer,
  ) {}

  /** A random 32-byte key (the key file's): HKDF-SHA256 derives the encryption key from it. */
  static fromKey(random: Buffer, legacyKey: Buffer = random): SecretBox {
    if (random.length !== 32) throw new Error('SecretBox needs a 32-byte key');
    const key = Buffer.from(hkdfSync('sha256', random, HKDF_SALT, HKDF_INFO, 32));
    return new SecretBox(key, legacyKey);
  }

  /**
   * MARINA_SECRET_KEY or the key file's content: 64 hex characters or `base64:` and 32 bytes are a
   * random key (HKDF); anything else is a passphrase, stretched with scrypt.
   */
  static fromPassphrase(passphrase: string): SecretBox {
    if (/^[0-9a-f]{64}$/i.test(passphrase)) return SecretBox.fromKey(Buffer.from(passphrase, 'hex'));
    // How v1 turned this passphrase into its key, to open what v1 sealed.
    const legacyKey = createHash('sha256').update(`marina-secret-key:${passphrase}`).digest();
    if (passphrase.startsWith('base64:')) {
      const raw = Buffer.from(passphrase.slice('base64:'.length), 'base64');
      if (raw.length !== 32) throw new Error('MARINA_SECRET_KEY: a base64: key must decode to 32 bytes');
      return SecretBox.fromKey(raw, legacyKey);
    }
    return new SecretBox(scryptSync(passphrase.normalize('NFC'), SCRYPT_SALT, 32, SCRYPT), legacyKey);
  }

  seal(plain: string, at: SealedAt): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(associatedData(at));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      VERSION,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      body.toString('base64url'),
    ].join('.');
  }

  open(sealed: string, at: SealedAt): string {
    const parts = sealed.split('.');
    if (parts[0] === 'v1')
      throw new Error('a stored secret is still in the old v1 form: restart Marina once to re-seal it');
    if (parts[0] !== VERSION || parts.length !== 4) throw new Error('not a sealed secret');
    return gcmOpen(this.key, parts, associatedData(at));
  }

  /** Whether a stored value predates row binding (and must be re-sealed). */
  static isLegacy(sealed: string): boolean {
    return sealed.startsWith('v1.');
  }

  /** Opens a v1 value, for the one-time re-seal only. */
  openLegacy(sealed: string): string {
    const parts = sealed.split('.');
    if (parts[0] !== 'v1' || parts.length !== 4) throw new Error('not a v1 sealed secret');
    return gcmOpen(this.legacyKey, parts);
  }
}
