import type { ColumnType, Generated } from 'kysely';
import type { CreatedAt, Timestamp } from './schema.js';

/** The tables of code: repositories, their checkouts on hosts, push-hook deliveries. */

export interface RepositoriesTable {
  id: Generated<string>;
  organization_id: string;
  project_id: string;
  name: string;
  url: string;
  branch: string;
  subfolder: ColumnType<string, string | undefined, string>;
  submodules: ColumnType<boolean, boolean | undefined, boolean>;
  auto_restart: ColumnType<boolean, boolean | undefined, boolean>;
  auto_upgrade: ColumnType<boolean, boolean | undefined, boolean>;
  deploy_private_key: string;
  deploy_public_key: string;
  known_hosts: string | null;
  hook_token_hash: string;
  hook_token: string;
  hook_secret: string;
  created_by: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export type CheckoutStatus = 'pending' | 'ready' | 'failed';

export interface RepositoryCheckoutsTable {
  repository_id: string;
  instance_id: string;
  branch: string;
  commit: string | null;
  previous_commit: string | null;
  checksums: ColumnType<Record<string, string>, string | undefined, string>;
  addons_paths: ColumnType<string[], string | undefined, string>;
  root_is_addon: ColumnType<boolean, boolean | undefined, boolean>;
  status: ColumnType<CheckoutStatus, CheckoutStatus | undefined, CheckoutStatus>;
  error: string | null;
  last_operation_id: string | null;
  updated_at: Timestamp;
}

/** A push-hook delivery already received: a second one with its id or its signed body is a replay. */
export interface PushHookDeliveriesTable {
  id: Generated<string>;
  repository_id: string;
  provider: string;
  delivery_id: string | null;
  body_sha256: string;
  received_at: Timestamp;
}
