import type { Static } from 'typebox';
import type { Backup } from '../../db/schema.js';
import type { Actor } from '../../platform/context.js';
import { runStateOf } from '../offsite/run-state.js';
import type { BackupRun as BackupRunSchema, Backup as BackupSchema } from './schemas.js';

/** A backup as the API answers it: the `Backup` schema's own type. */
export type BackupView = Static<typeof BackupSchema>;

/** A backup in the history (the `BackupRun` schema). */
export type BackupRun = Static<typeof BackupRunSchema>;

const stamp = (d: Date) =>
  d
    .toISOString()
    .slice(0, 19)
    .replace(/[:T]/g, (c) => (c === 'T' ? '_' : ''));

/** A backup as the API shows it, before its offsite copies are added. */
export function backupView(b: Backup): BackupView {
  const ext = b.format === 'zip' ? 'zip' : 'tar.zst';
  const label = b.instance_label.replace(/[^A-Za-z0-9_-]+/g, '-');
  return {
    id: b.id,
    organizationId: b.organization_id,
    instanceId: b.instance_id,
    instanceLabel: b.instance_label,
    odooVersion: b.odoo_version,
    kind: b.kind,
    format: b.format,
    trigger: b.trigger,
    status: b.status,
    sizeBytes: b.size_bytes === null ? null : Number(b.size_bytes),
    sha256: b.sha256,
    pinned: b.pinned,
    error: b.error,
    jobId: b.operation_id,
    createdBy: b.created_by,
    createdAt: b.created_at.toISOString(),
    completedAt: b.completed_at?.toISOString() ?? null,
    downloadName: `${label}-${stamp(b.created_at)}-${b.kind}.${ext}`,
    localStatus: b.local_status,
    copies: [],
    verification: b.verification,
    runState: runStateOf(b.status, []),
  };
}

/** Who a backup was made by, as its record says it. */
export const actorLabel = (actor: Actor) => (actor.kind === 'user' ? actor.email : actor.label);
