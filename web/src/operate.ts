import type { Instance, JobStatus, Stage } from './api/types';
import type { BadgeTone } from './components/Badge';

/** How each instance status looks: a tone, and whether it is on its way somewhere (pulses). */
export const instanceStatusLook: Record<string, { tone: BadgeTone; transitional?: boolean; label: string }> = {
  provisioning: { tone: 'blue', transitional: true, label: 'provisioning' },
  starting: { tone: 'blue', transitional: true, label: 'starting' },
  running: { tone: 'green', label: 'running' },
  unhealthy: { tone: 'amber', label: 'unhealthy' },
  restarting: { tone: 'blue', transitional: true, label: 'restarting' },
  stopping: { tone: 'blue', transitional: true, label: 'stopping' },
  stopped: { tone: 'gray', label: 'stopped' },
  exited: { tone: 'red', label: 'exited' },
  missing: { tone: 'amber', label: 'missing' },
  unavailable: { tone: 'red', label: 'node lost' },
  failed: { tone: 'red', label: 'failed' },
  deleting: { tone: 'blue', transitional: true, label: 'deleting' },
  restoring: { tone: 'violet', transitional: true, label: 'restoring' },
};

export const stageLabel: Record<Stage, string> = {
  production: 'Production',
  staging: 'Staging',
  development: 'Development',
};

export const stageHelp: Record<Stage, string> = {
  production: 'The live database your users work in. Stop and delete ask you to type its name.',
  staging: 'A copy to try updates and modules before they reach production.',
  development: 'A sandbox for developers; nothing important lives here.',
};

export const jobStatusTone: Record<JobStatus, BadgeTone> = {
  queued: 'gray',
  running: 'blue',
  succeeded: 'green',
  failed: 'red',
  cancelled: 'amber',
};

export const isJobFinished = (status: JobStatus): boolean =>
  status === 'succeeded' || status === 'failed' || status === 'cancelled';

const jobKinds: Record<string, string> = {
  'instance.provision': 'Create instance',
  'instance.start': 'Start instance',
  'instance.stop': 'Stop instance',
  'instance.restart': 'Restart instance',
  'instance.delete': 'Delete instance',
  'instance.clone': 'Clone instance',
  'instance.undo_restore': 'Undo restore',
  'instance.expire_undo': 'Delete expired undo',
  'instance.move': 'Move instance',
  'backup.create': 'Back up',
  'backup.restore': 'Restore backup',
  'backup.verify': 'Test restore',
  'backup.export_dump': 'Prepare .dump',
  'backup.retention': 'Clean up backups',
  'backup.copy': 'Retry copy',
  'repository.update': 'Update repository',
  'addons.reconfigure': 'Reconfigure addons',
  'modules.apply': 'Change modules',
};

/** Every job kind with its label, for choosing one (the Jobs page's filter). */
export const jobKindOptions: { value: string; label: string }[] = Object.entries(jobKinds).map(([value, label]) => ({
  value,
  label,
}));

export function jobKindLabel(kind: string): string {
  const known = jobKinds[kind];
  if (known) return known;
  const words = kind.replace(/[._]/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const stepLabels: Record<string, string> = {
  validate: 'Checking the host',
  database: 'Creating the database',
  volume: 'Creating the filestore',
  configure: 'Writing odoo.conf',
  initialize: 'Installing Odoo (base)',
  start: 'Starting Odoo',
  health: 'Waiting until Odoo answers',
  stop: 'Stopping Odoo',
  restart: 'Restarting Odoo',
  container: 'Removing the container',
  prepare: 'Preparing',
  write: 'Writing the backup',
  finish: 'Verifying the checksum',
  verify: 'Verifying the backup file',
  'safety-backup': 'Taking a safety backup',
  create: 'Creating the instance',
  load: 'Loading the data',
  swap: 'Swapping in the new data',
  neutralize: 'Neutralizing the copy',
  upload: 'Copying offsite',
  retention: 'Applying retention',
  fetch: 'Fetching the backup',
  check: 'Checking the modules',
  cleanup: 'Dropping the test database',
};

/** Delete jobs reuse step names for removal; the kind says which way they go. */
const deleteStepLabels: Record<string, string> = {
  container: 'Removing the container',
  volume: 'Removing the filestore',
  database: 'Dropping the database',
};

/** Repository updates and module changes reuse step names too. */
const kindStepLabels: Record<string, Record<string, string>> = {
  'instance.delete': deleteStepLabels,
  'repository.update': {
    fetch: 'Fetching and fast-forwarding',
    changes: 'Finding the changed modules',
    backup: 'Taking a safety backup',
    upgrade: 'Upgrading the changed modules',
    restart: 'Restarting Odoo',
  },
  'addons.reconfigure': { checkout: 'Removing the checkout', restart: 'Restarting Odoo' },
  // What the swap put aside is kept as the undo (MARINA_RESTORE_UNDO_HOURS), or deleted with none.
  'backup.restore': { cleanup: 'Keeping or deleting the replaced data' },
  'instance.clone': { cleanup: 'Keeping or deleting the replaced data' },
  'instance.undo_restore': {
    stage: 'Preparing the kept data',
    swap: 'Swapping the kept data back in',
    keep: 'Keeping the swapped-out data as the undo',
  },
  'instance.expire_undo': { delete: 'Deleting the kept data' },
  'instance.move': {
    prepare: 'Preparing the other node',
    copy: 'Copying the filestore while Odoo serves',
    stop: 'Stopping Odoo',
    sync: 'Copying the database and the last changes',
    switch: 'Switching to the other node',
    start: 'Starting Odoo there',
    health: 'Waiting until Odoo answers',
    cleanup: 'Removing the old copy',
  },
  'modules.apply': {
    backup: 'Taking a safety backup',
    apply: 'Installing, upgrading, uninstalling',
    start: 'Starting Odoo',
  },
};

export function stepLabel(step: string, kind?: string): string {
  const special = kind ? kindStepLabels[kind]?.[step] : undefined;
  if (special) return special;
  return stepLabels[step] ?? step.charAt(0).toUpperCase() + step.slice(1);
}

/** Instances whose container runs, so stats make sense. */
export const isRunning = (instance: Pick<Instance, 'status'>): boolean =>
  instance.status === 'running' || instance.status === 'unhealthy';

const byteUnits = ['B', 'KB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${byteUnits[unit]}`;
}

export function formatMemoryMb(mb: number): string {
  return mb >= 1024 && mb % 512 === 0 ? `${mb / 1024} GB` : `${mb} MB`;
}

export function formatSize(instance: Pick<Instance, 'cpus' | 'memoryMb'>): string {
  return `${instance.cpus} CPU · ${formatMemoryMb(instance.memoryMb)}`;
}

/** "4d 3h", "2h 5m", "4m 12s", "12s". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds}s`;
}

export function secondsSince(iso: string, now: number): number {
  return Math.max(0, (now - new Date(iso).getTime()) / 1000);
}

export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} %`;
}

/** How long a job ran (or has been running). */
export function jobDuration(
  job: { startedAt: string | null; finishedAt: string | null; createdAt: string },
  now: number,
): string | null {
  if (!job.startedAt) return null;
  const end = job.finishedAt ? new Date(job.finishedAt).getTime() : now;
  return formatDuration((end - new Date(job.startedAt).getTime()) / 1000);
}

export const odooVersions = ['19.0', '18.0', '17.0', '16.0'];

export const languages: { code: string; label: string }[] = [
  { code: 'en_US', label: 'English (US)' },
  { code: 'fr_FR', label: 'French (France)' },
  { code: 'fr_BE', label: 'French (Belgium)' },
  { code: 'nl_BE', label: 'Dutch (Belgium)' },
  { code: 'de_DE', label: 'German' },
  { code: 'es_ES', label: 'Spanish' },
  { code: 'it_IT', label: 'Italian' },
  { code: 'pt_BR', label: 'Portuguese (Brazil)' },
];

export const sizePresets = [
  { id: 'small', label: 'Small', cpus: 1, memoryMb: 2048, hint: 'A few users, light modules' },
  { id: 'medium', label: 'Medium', cpus: 2, memoryMb: 4096, hint: 'A team of 10–30 users' },
  { id: 'large', label: 'Large', cpus: 4, memoryMb: 8192, hint: 'Many users, heavy reports' },
] as const;
