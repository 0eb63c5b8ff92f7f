import { describe, expect, it } from 'vitest';
import { odooPasswordHash } from './password.js';
import { odooPasswordMatches } from './password-verify.js';

describe('odooPasswordMatches', () => {
  it("opens Odoo's pbkdf2-sha512 hashes with the right password only", async () => {
    const hash = await odooPasswordHash('s3cret-Pass', 1000);
    expect(await odooPasswordMatches('s3cret-Pass', hash)).toBe(true);
    expect(await odooPasswordMatches('s3cret-pass', hash)).toBe(false);
    expect(await odooPasswordMatches('', hash)).toBe(false);
  });

  it('answers false for what it cannot check: no hash, plaintext, another scheme, absurd rounds', async () => {
    expect(await odooPasswordMatches('admin', null)).toBe(false);
    expect(await odooPasswordMatches('admin', 'admin')).toBe(false);
    expect(await odooPasswordMatches('admin', '$2b$12$abcdefghijklmnopqrstuv')).toBe(false);
    expect(await odooPasswordMatches('admin', '$pbkdf2-sha512$99999999999$c2FsdA$Y2hlY2s')).toBe(false);
  });

  it('reads a hash made by passlib (as Odoo 17 writes it)', async () => {
    // passlib.hash.pbkdf2_sha512.using(rounds=1000, salt=b"0123456789abcdef").hash("admin")
    const hash =
      '$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg$VYpayuGgwzZdp432P4BiDOsz2R32OckUD4cZP0OnU/dRJDzvbA9NzD4JRchh6MOV7dGmpArYbuwTJVUOgj66DA';
    expect(await odooPasswordMatches('admin', hash)).toBe(true);
    expect(await odooPasswordMatches('Admin', hash)).toBe(false);
  });
});
