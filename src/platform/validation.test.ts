import { describe, expect, it } from 'vitest';
import { passwordWeakness } from '../modules/identity/passwords.js';
import type { MarinaError } from './errors.js';
import { normalizeEmail, requireLabel, requireRole, requireSlug } from './validation.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as MarinaError).code;
  }
  return 'accepted';
};

describe('validation', () => {
  it('accepts good slugs and refuses paths, spaces, capitals, shell characters and long ones', () => {
    for (const slug of ['acme', 'a', 'acme-2', '0day', 'a'.repeat(40)]) expect(requireSlug(slug)).toBe(slug);
    for (const slug of [
      '',
      'Acme',
      '..',
      'a/b',
      'a b',
      'a\tb',
      '-a',
      'a-',
      '$(id)',
      'a;b',
      'a'.repeat(41),
      'é',
      'a\u0000',
    ]) {
      expect(
        code(() => requireSlug(slug)),
        slug,
      ).toBe('MARINA_E_VALIDATION');
    }
  });

  it('normalizes email addresses and refuses malformed ones', () => {
    expect(normalizeEmail('  Jane.Doe+odoo@Example.COM ')).toBe('jane.doe+odoo@example.com');
    for (const email of [
      'jane',
      'jane@',
      '@x.com',
      'a b@x.com',
      'a@x',
      'a@x..com',
      `${'a'.repeat(65)}@x.com`,
      'a\n@x.com',
      42,
    ]) {
      expect(
        code(() => normalizeEmail(email)),
        String(email),
      ).toBe('MARINA_E_VALIDATION');
    }
  });

  it('trims labels and refuses control characters and over-long ones', () => {
    expect(requireLabel('  ACME Corp ', 'name')).toBe('ACME Corp');
    expect(code(() => requireLabel('a\u0007b', 'name'))).toBe('MARINA_E_VALIDATION');
    expect(code(() => requireLabel('x'.repeat(101), 'name'))).toBe('MARINA_E_VALIDATION');
    expect(code(() => requireLabel('   ', 'name'))).toBe('MARINA_E_VALIDATION');
  });

  it('knows the three roles', () => {
    expect(requireRole('owner')).toBe('owner');
    expect(code(() => requireRole('root'))).toBe('MARINA_E_VALIDATION');
  });

  it('explains weak passwords', () => {
    expect(passwordWeakness('correct horse battery staple')).toBeUndefined();
    expect(passwordWeakness('short')).toMatch(/at least 12/);
    expect(passwordWeakness('abababababababab')).toMatch(/5 different/);
    expect(passwordWeakness('Password1234')).toMatch(/common/);
    expect(passwordWeakness('jane.doe-is-great', 'jane.doe@example.com')).toMatch(/email/);
    expect(passwordWeakness('x'.repeat(300))).toMatch(/at most/);
  });
});
