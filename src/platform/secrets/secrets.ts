import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random secret a person may have to copy (base64url, no padding). */
export const randomSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** Secrets we hand out are stored only as their SHA-256: they are long random values, not passwords. */
export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
