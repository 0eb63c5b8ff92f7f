import type { ColumnType } from 'kysely';

/** An instance's undo (migration 0032): what the last restore or clone over it replaced, kept aside. */
export interface RestoreUndoColumns {
  /** Kept until then; null: nothing is kept. */
  undo_until: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The job that put it aside. */
  undo_operation_id: ColumnType<string | null, string | null | undefined, string | null>;
}
