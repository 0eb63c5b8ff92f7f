import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Optional<T> = ColumnType<T | null, T | null | undefined, T | null>;

export type DatabaseTemplateStatus = 'building' | 'ready' | 'failed';

/** What a template database was built from (0030). */
export interface DatabaseTemplateRecipe {
  odooVersion: string;
  image: string;
  imageId: string;
  /** Every module installed, with dependencies and auto-installed ones (names only when the source is in the image). */
  modules: string[];
  /** sha256 over the installed modules' contents; null when the source is inside the image (the image id covers it). */
  checksum: string | null;
  language: string;
  demo: boolean;
}

/** An initialized Odoo database kept for copying (0030). */
export interface DatabaseTemplatesTable {
  id: Generated<string>;
  database_server_id: string;
  host_id: string;
  key_hash: string;
  recipe_hash: string;
  recipe: ColumnType<DatabaseTemplateRecipe, string, string>;
  db_name: string;
  volume_name: string;
  status: DatabaseTemplateStatus;
  error: Optional<string>;
  uses: ColumnType<number, number | undefined, number>;
  build_ms: Optional<number>;
  bytes: ColumnType<string | null, number | bigint | null | undefined, number | bigint | null>;
  created_at: Timestamp;
  ready_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
}

/** Compiled Python of a mounted Odoo source tree on a host, for one image (0034). */
export interface BytecodeCachesTable {
  host_id: string;
  volume_name: string;
  image_id: string;
  source: string;
  created_at: Timestamp;
  /** Null while it is built (or when a build was cut short): not mounted until set. */
  built_at: NullableTimestamp;
  build_ms: Optional<number>;
}

export interface TemplateTables {
  database_templates: DatabaseTemplatesTable;
  bytecode_caches: BytecodeCachesTable;
}
