import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { SecretBox } from './secret-box.js';
import { resealLegacySecrets } from './secret-migration.js';

/**
 * Stored secrets move from v1 (one key for all, bound to nothing) to v2 (a derived key, each value
 * bound to its table, column and row) at start-up, against a real PostgreSQL.
 */
const KEY = 'marina test secret key'; // what test/helpers/app.ts gives the box
let t: TestApp;
let admin: Browser;

/** v1 as Marina wrote it before: AES-256-GCM, key = SHA-256 of the passphrase, no associated data. */
function sealV1(plain: string): string {
  const key = createHash('sha256').update(`marina-secret-key:${KEY}`).digest();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join(
    '.',
  );
}

let repo: { id: string; hookSecret: string; hookToken: string; deployKey: string };
let destinationId: string;
const DESTINATION_SECRETS = { s3: { secretAccessKey: 'legacy-secret-access-key' } };
const SMTP_PASSWORD = 'legacy smtp password';

beforeAll(async () => {
  t = await createTestApp({ MARINA_PUBLIC_URL: 'http://marina.test' });
  admin = await adminBrowser(t);
  const api = as(t, admin);
  expect((await api('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' })).statusCode).toBe(201);
  // An address, not a name: nothing is resolved, and nothing cloned (the project has no instance).
  const project = await api('POST', '/api/v1/projects', { organization: 'acme', name: 'erp', odooVersion: '17.0' });
  const created = await api('POST', `/api/v1/projects/${project.json().project.id}/repositories`, {
    url: 'https://140.82.112.3/acme/addons.git',
    branch: '17.0',
  });
  expect(created.statusCode, created.body).toBe(201);
  const view = created.json().repository;
  const row = await t.db.selectFrom('repositories').selectAll().where('id', '=', view.id).executeTakeFirstOrThrow();
  const destination = await api('POST', '/api/v1/destinations', {
    name: 'shared',
    kind: 's3',
    s3: { endpoint: 'https://s3.storage.example', bucket: 'backups', accessKeyId: 'AKIA1', secretAccessKey: 'x' },
    // Nothing answers there: saved without a passing connection test, as asked.
    saveAnyway: true,
  });
  expect(destination.statusCode, destination.body).toBe(201);
  destinationId = destination.json().destination.id;
  const smtp = await api('PUT', '/api/v1/settings/smtp', {
    host: '127.0.0.1',
    port: 2525,
    security: 'none',
    from: 'Marina <marina@hosting.test>',
    username: 'marina',
    password: 'replaced below',
  });
  expect(smtp.statusCode, smtp.body).toBe(200);

  // The installation as an older Marina left it: every value in v1.
  repo = {
    id: view.id,
    hookSecret: view.hook.secret,
    hookToken: new URL(view.hook.url).pathname.split('/').pop() ?? '',
    deployKey: SecretBox.fromPassphrase(KEY).open(row.deploy_private_key, {
      table: 'repositories',
      column: 'deploy_private_key',
      row: row.id,
    }),
  };
  await t.db
    .updateTable('repositories')
    .set({
      hook_secret: sealV1(repo.hookSecret),
      hook_token: sealV1(repo.hookToken),
      deploy_private_key: sealV1(repo.deployKey),
    })
    .where('id', '=', repo.id)
    .execute();
  await t.db
    .updateTable('destinations')
    .set({ secrets: sealV1(JSON.stringify(DESTINATION_SECRETS)) })
    .where('id', '=', destinationId)
    .execute();
  const settings = await t.db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', 'smtp')
    .executeTakeFirstOrThrow();
  await t.db
    .updateTable('settings')
    .set({ value: JSON.stringify({ ...settings.value, password: sealV1(SMTP_PASSWORD) }) })
    .where('key', '=', 'smtp')
    .execute();
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('the re-seal of v1 secrets', { timeout: 60_000 }, () => {
  it('is refused with another key, and then changes nothing', async () => {
    const before = await t.db
      .selectFrom('repositories')
      .selectAll()
      .where('id', '=', repo.id)
      .executeTakeFirstOrThrow();
    await expect(
      resealLegacySecrets(t.db, SecretBox.fromPassphrase('not the key it was sealed with'), t.clock),
    ).rejects.toThrow(/Cannot re-seal the stored secrets/);
    const after = await t.db.selectFrom('repositories').selectAll().where('id', '=', repo.id).executeTakeFirstOrThrow();
    expect(after.hook_secret).toBe(before.hook_secret);
    // v1 is not accepted for use in the meantime.
    expect(() => t.services.repositories.hookSecret(after)).toThrow(/v1/);
  });

  it('re-seals every value as v2, bound to its row, once', async () => {
    expect(await resealLegacySecrets(t.db, SecretBox.fromPassphrase(KEY), t.clock)).toBe(5);
    const row = await t.db.selectFrom('repositories').selectAll().where('id', '=', repo.id).executeTakeFirstOrThrow();
    for (const value of [row.hook_secret, row.hook_token, row.deploy_private_key]) expect(value).toMatch(/^v2\./);
    expect(t.services.repositories.hookSecret(row)).toBe(repo.hookSecret);
    expect(
      SecretBox.fromPassphrase(KEY).open(row.deploy_private_key, {
        table: 'repositories',
        column: 'deploy_private_key',
        row: repo.id,
      }),
    ).toBe(repo.deployKey);
    const shown = (await as(t, admin)('GET', `/api/v1/repositories/${repo.id}`)).json().repository;
    expect(shown.hook.url).toContain(repo.hookToken);
    const destination = await t.services.destinations.row(destinationId);
    expect(destination.secrets).toMatch(/^v2\./);
    expect(t.services.destinations.secretsOf(destination)).toEqual(DESTINATION_SECRETS);
    expect((await t.services.settings.getSmtpForSending())?.password).toBe(SMTP_PASSWORD);

    const audit = await t.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'platform.reseal_secrets')
      .execute();
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(SMTP_PASSWORD);
    // Nothing is left to do at the next start.
    expect(await resealLegacySecrets(t.db, SecretBox.fromPassphrase(KEY), t.clock)).toBe(0);
  });

  it('a value copied into another column or row does not open there', async () => {
    const row = await t.db.selectFrom('repositories').selectAll().where('id', '=', repo.id).executeTakeFirstOrThrow();
    // The hook secret copied over the hook token of the same row: the hook URL cannot be shown.
    expect(() => t.services.repositories.hookSecret({ ...row, hook_secret: row.hook_token })).toThrow(
      /cannot be decrypted/,
    );
    // The repository's sealed secret put into a destination's secrets.
    const destination = await t.services.destinations.row(destinationId);
    expect(() => t.services.destinations.secretsOf({ ...destination, secrets: row.hook_secret })).toThrow(
      /cannot be decrypted/,
    );
    // The destination's secrets in another destination's row.
    expect(() => t.services.destinations.secretsOf({ ...destination, id: repo.id })).toThrow(/cannot be decrypted/);
  });
});
