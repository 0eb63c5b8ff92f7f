import type { Db } from '../../db/database.js';
import { addMinutes, type Clock } from '../../platform/clock.js';
import type { AnonymousContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { randomSecret, sha256 } from '../../platform/secrets/secrets.js';
import type { UserService, UserView } from './users.js';

const SETUP_LINK_HOURS = 24;

export interface SetupServiceDeps {
  db: Db;
  clock: Clock;
  users: UserService;
}

/**
 * First run: Marina has no administrator and no default credentials. At start-up it prints a
 * one-time link; whoever can read the server's log can open it and create the first admin.
 */
export class SetupService {
  constructor(private readonly deps: SetupServiceDeps) {}

  async isNeeded(): Promise<boolean> {
    return !(await this.deps.users.hasPlatformAdmin());
  }

  /** A fresh link at each start while no admin exists; older links stop working. */
  async issueLink(publicUrl: string): Promise<string | undefined> {
    if (!(await this.isNeeded())) return undefined;
    const secret = randomSecret();
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('one_time_tokens').where('purpose', '=', 'setup').execute();
      await trx
        .insertInto('one_time_tokens')
        .values({ purpose: 'setup', token_hash: sha256(secret), expires_at: addMinutes(now, SETUP_LINK_HOURS * 60) })
        .execute();
    });
    return `${publicUrl}/setup#${secret}`;
  }

  async complete(
    ctx: AnonymousContext,
    input: { token: unknown; email: unknown; password: unknown; name?: unknown },
  ): Promise<UserView> {
    if (!(await this.isNeeded())) throw new MarinaError('MARINA_E_SETUP_DONE');
    if (typeof input.token !== 'string' || input.token.length > 100)
      throw new MarinaError('MARINA_E_INVALID_SETUP_TOKEN');
    const now = this.deps.clock.now();
    const claimed = await this.deps.db
      .updateTable('one_time_tokens')
      .set({ used_at: now })
      .where('purpose', '=', 'setup')
      .where('token_hash', '=', sha256(input.token))
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (claimed.numUpdatedRows === 0n) throw new MarinaError('MARINA_E_INVALID_SETUP_TOKEN');
    try {
      return await this.deps.users.createPlatformAdmin(
        { actor: { kind: 'system', label: 'setup' }, ip: ctx.ip },
        input,
      );
    } catch (error) {
      // Bad input must not burn the link: give it back so the form can be corrected.
      await this.deps.db
        .updateTable('one_time_tokens')
        .set({ used_at: null })
        .where('token_hash', '=', sha256(input.token))
        .execute();
      throw error;
    }
  }
}
