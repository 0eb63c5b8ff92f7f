import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // A third scope: a token Prometheus scrapes GET /metrics with, and that reaches nothing else.
  await sql`
    alter table api_tokens
      drop constraint if exists api_tokens_scope_check,
      add constraint api_tokens_scope_check check (scope in ('read', 'write', 'metrics'))
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("Marina migrations are forward-only; restore a backup of Marina's database to go back.");
}
