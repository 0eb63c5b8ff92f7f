import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, STRONG_PASSWORD, signIn, type TestApp } from '../../../test/helpers/app.js';
import { hashPassword } from './passwords.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

describe('accounts and organizations made by sign-up and external sign-in', () => {
  it('make a verified account that signs in, and refuse a second one with the same address', async () => {
    const passwordHash = await hashPassword(STRONG_PASSWORD);
    const user = await t.db
      .transaction()
      .execute((trx) =>
        t.services.users.createVerified(trx, { email: ' Ada@Example.com ', passwordHash, name: 'Ada', locale: 'fr' }),
      );
    expect(user).toMatchObject({ email: 'ada@example.com', name: 'Ada', locale: 'fr', is_platform_admin: false });
    expect(user.email_verified_at).toBeInstanceOf(Date);
    await signIn(t.app, 'ada@example.com');
    await expect(
      t.db
        .transaction()
        .execute((trx) =>
          t.services.users.createVerified(trx, { email: 'ada@example.com', passwordHash: null, name: 'x' }),
        ),
    ).rejects.toMatchObject({ code: 'MARINA_E_CONFLICT' });
  });

  it('make an organization owned by the account, with a slug from its name that is never taken twice', async () => {
    const owner = await t.db
      .transaction()
      .execute((trx) => t.services.users.createVerified(trx, { email: 'o@x.test', passwordHash: null, name: 'O' }));
    const made = [];
    for (const name of ['ACME Corp.', 'Acme  corp', 'Ünïcode Wörks', '!!!']) {
      made.push(
        await t.db
          .transaction()
          .execute((trx) => t.services.organizations.createWithOwner(trx, { name, ownerId: owner.id })),
      );
    }
    expect(made.map((o) => o.slug)).toEqual(['acme-corp', 'acme-corp-2', 'unicode-works', 'organization']);
    expect(made[1]?.name).toBe('Acme  corp');
    const roles = await t.db.selectFrom('memberships').select('role').where('user_id', '=', owner.id).execute();
    expect(roles).toEqual(made.map(() => ({ role: 'owner' })));
  });
});
