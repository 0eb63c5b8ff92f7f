import type { Db } from '../../db/database.js';
import type { CredentialLinkPurpose } from '../../db/schema.js';
import { randomSecret, sha256 } from '../../platform/secrets/secrets.js';

/** How long a credentials link can be opened (once). */
export const CREDENTIAL_LINK_DAYS = 7;

/**
 * A single-use link to an instance's Odoo admin credentials for one user: only the token's hash is
 * kept, the token goes into the link (the SPA's `/credentials#token=…`). Runs in the caller's
 * transaction, so a link exists only if what it announces does.
 */
export async function createCredentialLink(
  trx: Db,
  link: { instanceId: string; userId: string; purpose: CredentialLinkPurpose; now: Date },
): Promise<string> {
  const token = randomSecret(32);
  await trx
    .insertInto('credential_links')
    .values({
      token_hash: sha256(token),
      instance_id: link.instanceId,
      user_id: link.userId,
      purpose: link.purpose,
      created_at: link.now,
      expires_at: new Date(link.now.getTime() + CREDENTIAL_LINK_DAYS * 86_400_000),
    })
    .execute();
  return token;
}

/** The SPA address a credentials link opens. */
export const credentialsUrl = (publicUrl: string, token: string): string =>
  `${publicUrl.replace(/\/$/, '')}/credentials#token=${encodeURIComponent(token)}`;
