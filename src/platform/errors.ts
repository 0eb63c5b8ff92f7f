/**
 * The one catalogue of Marina's errors. Every failure a user can see has a stable code,
 * an HTTP status, a message they can act on, a hint saying what to do about it and the domain it
 * belongs to. Codes never change meaning once released. `docs/errors.md` is generated from this
 * catalogue (`npm run gen:errors`).
 */

import { clusterErrors } from './errors-cluster.js';
import { edgeErrors } from './errors-edge.js';
import { selfServiceErrors } from './errors-selfservice.js';

/** The domains codes are grouped by in `docs/errors.md`, in the order they are listed there. */
export const errorGroups = {
  request: 'Requests',
  auth: 'Sign-in, tokens and permissions',
  instances: 'Instances',
  jobs: 'Jobs',
  backups: 'Backups, imports and offsite copies',
  repositories: 'Repositories and push hooks',
  email: 'Email',
  domains: 'Domains, certificates and access protection',
  plans: 'Plans, quotas and suspension',
  billing: 'Billing and payments',
  signup: 'Sign-up',
  platform: 'Platform',
} as const;

export type ErrorGroup = keyof typeof errorGroups;

export interface ErrorEntry {
  status: number;
  message: string;
  /** One sentence: what the user can do about it. */
  hint: string;
  group: ErrorGroup;
}

export const errorCatalog = {
  MARINA_E_VALIDATION: {
    status: 400,
    message: 'The request is not valid.',
    hint: 'Fix the fields named in details.issues (or the message) and send the request again.',
    group: 'request',
  },
  MARINA_E_BAD_JSON: {
    status: 400,
    message: 'The request body is not valid JSON.',
    hint: 'Send a well-formed JSON body, or no body at all when the endpoint takes none.',
    group: 'request',
  },
  MARINA_E_WEAK_PASSWORD: {
    status: 400,
    message: 'The password is too weak.',
    hint: 'Follow the reason in the message: a longer password, more different characters, not a common one and not your email name.',
    group: 'auth',
  },
  MARINA_E_UNAUTHENTICATED: {
    status: 401,
    message: 'Sign in or send an API token first.',
    hint: 'Sign in, or send an API token in the Authorization: Bearer header.',
    group: 'auth',
  },
  MARINA_E_INVALID_CREDENTIALS: {
    status: 401,
    message: 'Email or password is wrong.',
    hint: 'Check the email and the password (passwords are case-sensitive), then sign in again.',
    group: 'auth',
  },
  MARINA_E_SESSION_EXPIRED: {
    status: 401,
    message: 'Your session has expired; sign in again.',
    hint: 'Sign in again; a session ends after a period of inactivity, at its fixed expiry, or when the password changes.',
    group: 'auth',
  },
  MARINA_E_INVALID_TOKEN: {
    status: 401,
    message: 'The API token is unknown, revoked or expired.',
    hint: 'Create a new API token (marina tokens create, or the tokens page) and use it instead.',
    group: 'auth',
  },
  MARINA_E_CSRF: {
    status: 403,
    message: 'Missing or wrong CSRF token: send the X-Marina-CSRF header with the token from /api/v1/me.',
    hint: 'Read csrfToken from GET /api/v1/me and send it in the X-Marina-CSRF header, or use an API token instead of the cookie.',
    group: 'auth',
  },
  MARINA_E_FORBIDDEN: {
    status: 403,
    message: 'You are not allowed to do this.',
    hint: 'Ask an administrator of the organization (or of the platform) for the role this needs.',
    group: 'auth',
  },
  MARINA_E_TOKEN_SCOPE: {
    status: 403,
    message: 'This API token does not allow this: it is read-only, for metrics only, or limited to one organization.',
    hint: 'Use a token with the scope this request needs (write for changes, metrics for GET /metrics), or one not limited to a single organization.',
    group: 'auth',
  },
  MARINA_E_ACCOUNT_DISABLED: {
    status: 403,
    message: 'This account is disabled: ask a platform administrator of this Marina to enable it.',
    hint: 'Ask a platform administrator to enable the account again.',
    group: 'auth',
  },
  MARINA_E_NOT_FOUND: {
    status: 404,
    message: 'Not found.',
    hint: 'Check the id or slug in the path; it may have been deleted or belong to an organization you cannot see.',
    group: 'request',
  },
  MARINA_E_CONFLICT: {
    status: 409,
    message: 'This conflicts with something that already exists.',
    hint: 'Pick another name or slug, or change the existing item instead of creating a new one.',
    group: 'request',
  },
  MARINA_E_SETUP_DONE: {
    status: 409,
    message: 'Marina already has an administrator; sign in instead.',
    hint: 'Sign in with the administrator account created at setup.',
    group: 'auth',
  },
  MARINA_E_INVALID_SETUP_TOKEN: {
    status: 403,
    message: 'The setup link is invalid or was already used; restart Marina for a new one.',
    hint: 'Restart Marina and open the new setup link it prints in its log.',
    group: 'auth',
  },
  MARINA_E_PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'The request body is too large.',
    hint: 'Send a smaller body; upload large files through the endpoints made for uploads.',
    group: 'request',
  },
  MARINA_E_ARCHIVE_TOO_LARGE: {
    status: 413,
    message: 'The archive inflates past the import limits (total size, entry count or compression ratio).',
    hint: 'Import a smaller archive, or ask a platform administrator to raise the import limits.',
    group: 'backups',
  },
  MARINA_E_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Send the request body as application/json.',
    hint: 'Set the Content-Type header to application/json.',
    group: 'request',
  },
  MARINA_E_RATE_LIMITED: {
    status: 429,
    message: 'Too many attempts; wait and try again.',
    hint: 'Wait for the number of seconds in the Retry-After header, then try again.',
    group: 'request',
  },
  MARINA_E_TOO_MANY_STREAMS: {
    status: 429,
    message: 'Too many live event streams are open; close another tab or wait.',
    hint: 'Close other Marina tabs or clients following live events, then reload.',
    group: 'request',
  },
  MARINA_E_SIGNIN_SLOWED: {
    status: 429,
    message: 'Too many failed sign-ins for this account from your address; wait before trying again.',
    hint: 'Wait for the time in the Retry-After header before signing in again, and check the password first.',
    group: 'auth',
  },
  MARINA_E_DOCKER_UNAVAILABLE: {
    status: 503,
    message: 'The Docker engine cannot be reached.',
    hint: 'Start the Docker engine on the host and check that the user running Marina can use its socket.',
    group: 'platform',
  },
  MARINA_E_IMAGE_MISSING: {
    status: 503,
    message: 'A Docker image Marina needs is not available on the host.',
    hint: 'Pull or build the image named in the message on the host, then try again.',
    group: 'platform',
  },
  MARINA_E_CONFIRMATION_REQUIRED: {
    status: 400,
    message: 'This is a production instance: type its name in "confirm" to go ahead.',
    hint: 'Send the instance name in the "confirm" field (the UI asks you to type it).',
    group: 'instances',
  },
  MARINA_E_INSTANCE_BUSY: {
    status: 409,
    message: 'Another job is running on this instance; wait for it to finish.',
    hint: "Wait for the instance's running job (create, restore, update, delete…) to finish: the jobs page shows it. Then try again.",
    group: 'instances',
  },
  MARINA_E_INSTANCE_FAILED: {
    status: 409,
    message: 'This instance failed to provision; delete it and create it again.',
    hint: 'Read the log of the job that failed, then delete the instance and create it again.',
    group: 'instances',
  },
  MARINA_E_NO_DATABASE: {
    status: 409,
    message: 'The instance has no database yet.',
    hint: 'Wait for the instance to finish provisioning (or create it again if that failed), then try again.',
    group: 'instances',
  },
  MARINA_E_NO_ODOO_ADMIN: {
    status: 409,
    message: 'The database has no administrator user to give a new password to.',
    hint: 'Its user with id 2 and every member of Settings (base.group_system) are archived or gone: sign in to Odoo with another user, or restore a backup.',
    group: 'instances',
  },
  MARINA_E_NO_CONTAINER: {
    status: 409,
    message: 'The instance has no container (yet): there is no log to show.',
    hint: 'Wait for the instance to finish provisioning, or start it; its log appears once its container exists.',
    group: 'instances',
  },
  MARINA_E_ODOO_COMMAND_FAILED: {
    status: 500,
    message: 'An Odoo command failed or did not do what it was asked; its error lines say why.',
    hint: "Read Odoo's error lines in the message and the job log, fix the module or data they name, and run the job again.",
    group: 'instances',
  },
  MARINA_E_HEALTH_CHECK_FAILED: {
    status: 500,
    message: 'Odoo did not become healthy in time.',
    hint: "Read the instance's Odoo log for what keeps it from starting (often a module or its configuration), fix it, and start the instance again.",
    group: 'instances',
  },
  MARINA_E_IMPORT_BUSY: {
    status: 409,
    message: 'Another import of this organization is running; one import at a time.',
    hint: 'Wait for the running import of this organization to finish, then start this one.',
    group: 'backups',
  },
  MARINA_E_NO_FREE_PORT: {
    status: 503,
    message: 'No free port is left in MARINA_INSTANCE_PORTS on this host.',
    hint: 'Delete unused instances, or widen MARINA_INSTANCE_PORTS and restart Marina.',
    group: 'instances',
  },
  MARINA_E_JOB_FAILED: {
    status: 500,
    message: 'The job failed; its log says why.',
    hint: "Open the job's log, fix what it names, and run the job again.",
    group: 'jobs',
  },
  MARINA_E_INTERRUPTED: {
    status: 500,
    message: 'Marina stopped while this job was running; what it had done was undone.',
    hint: 'Run the job again now that Marina is back.',
    group: 'jobs',
  },
  MARINA_E_CANCELLED: {
    status: 409,
    message: 'Someone cancelled this job; what it had done was undone.',
    hint: 'Retry it (the job page or `marina jobs retry`) when you want it to run after all.',
    group: 'jobs',
  },
  MARINA_E_JOB_NOT_CANCELLABLE: {
    status: 409,
    message: 'This job cannot be cancelled now.',
    hint: 'A job can be cancelled while it is queued, and an offsite upload while it waits to try again; a job that is working would be left half-done. Wait for it to end.',
    group: 'jobs',
  },
  MARINA_E_JOB_NOT_RETRYABLE: {
    status: 409,
    message: 'This job cannot be retried.',
    hint: 'Only a failed or cancelled job whose kind can simply run again (start, stop, restart, test restores, retention) is retried; start the others again from their page.',
    group: 'jobs',
  },
  MARINA_E_ARCHIVE_INVALID: {
    status: 400,
    message: 'The backup is damaged, cut short, unsafe, or missing what Odoo needs.',
    hint: "Upload an Odoo backup zip (with or without filestore) or a PostgreSQL custom-format dump (.dump) from Odoo's database manager, downloaded again if it may be damaged.",
    group: 'backups',
  },
  MARINA_E_DOWNLOAD_FORMAT: {
    status: 409,
    message: 'This backup cannot be downloaded in the format asked for.',
    hint: 'Prepare the .dump first (POST /api/v1/backups/{id}/dump, or "Download .dump" in the web UI), then download it with format=dump once its job has finished.',
    group: 'backups',
  },
  MARINA_E_IMPORT_NOT_A_BACKUP: {
    status: 400,
    message: 'The file is not an Odoo backup: neither an Odoo backup zip nor a PostgreSQL custom-format dump (.dump).',
    hint: "Upload what Odoo's database manager makes: the zip (with or without filestore), or the .dump (pg_dump custom format, without filestore).",
    group: 'backups',
  },
  MARINA_E_BACKUP_UNAVAILABLE: {
    status: 409,
    message: 'This backup is not completed, or its file is missing or does not match its checksum.',
    hint: 'Wait for the backup to complete, or use another backup or an offsite copy of this one.',
    group: 'backups',
  },
  MARINA_E_NOTHING_TO_UNDO: {
    status: 409,
    message: 'Nothing is kept to swap back: no restore or clone replaced this instance’s data, or its undo expired.',
    hint: 'Restore a backup instead: the instance’s backups list shows what there is.',
    group: 'backups',
  },
  MARINA_E_COPY_FAILED: {
    status: 502,
    message: 'An offsite copy could not be made or verified; the backup stays on this server.',
    hint: "Run the destination's connection test, fix what it reports, and copy the backup again.",
    group: 'backups',
  },
  MARINA_E_STORAGE: {
    status: 502,
    message: 'The backup destination answered with an error.',
    hint: "Run the destination's connection test and check its credentials, folder or bucket, and host key.",
    group: 'backups',
  },
  MARINA_E_PINNED: {
    status: 409,
    message: 'This backup is pinned; unpin it before deleting it.',
    hint: 'Unpin the backup first if you really mean to delete it.',
    group: 'backups',
  },
  MARINA_E_BACKUP_IN_PROGRESS: {
    status: 409,
    message: 'This backup is still being written; wait for its job.',
    hint: "Wait for the backup's job to finish, then try again.",
    group: 'backups',
  },
  MARINA_E_BACKUP_CORRUPT: {
    status: 500,
    message: 'The backup file on disk does not match the checksum computed while writing it.',
    hint: "Check the disk that holds Marina's data folder (free space, I/O errors), then back up again.",
    group: 'backups',
  },
  MARINA_E_TOOL_FAILED: {
    status: 500,
    message: 'A database or file tool (pg_dump, pg_restore, psql, tar) failed; its error lines say why.',
    hint: "Read the tool's error lines in the job log: a full disk, a tools image older than the PostgreSQL server, or a damaged dump are the usual causes.",
    group: 'backups',
  },
  MARINA_E_DESTINATION_IN_USE: {
    status: 409,
    message: 'This destination still keeps backup copies, or a backup schedule still sends copies to it.',
    hint: 'Delete the backups copied there (or let retention remove them) and change the schedules that send copies there, then delete it.',
    group: 'backups',
  },
  MARINA_E_NO_SCHEDULE: {
    status: 409,
    message: 'This instance has no backup schedule yet.',
    hint: 'Set a backup schedule for the instance first, then run it.',
    group: 'backups',
  },
  MARINA_E_SMTP_NOT_CONFIGURED: {
    status: 409,
    message: 'No SMTP server is set: a platform admin sets one in the settings first.',
    hint: 'Ask a platform administrator to set the SMTP server in the settings.',
    group: 'email',
  },
  MARINA_E_SMTP_FAILED: {
    status: 502,
    message: 'The SMTP server could not be reached or refused the email.',
    hint: 'Check the SMTP host, port, TLS mode and credentials in the settings, and send a test email.',
    group: 'email',
  },
  MARINA_E_MAIL_CATCHER_PRODUCTION: {
    status: 409,
    message: 'A production instance cannot send its mail to the mail catcher.',
    hint: "Choose the platform's mail server or the organization's own server for production instances.",
    group: 'email',
  },
  MARINA_E_MAIL_CATCHER_OFF: {
    status: 409,
    message: 'The mail catcher is not running on this Marina.',
    hint: 'Ask a platform administrator to set MARINA_MAIL_CATCHER_PORT, or choose another outgoing mail server.',
    group: 'email',
  },
  MARINA_E_GIT: {
    status: 502,
    message: 'The git repository could not be reached or refused the request.',
    hint: "Check the repository URL, branch and access key, and that the repository's host keys are pinned.",
    group: 'repositories',
  },
  MARINA_E_OUTBOUND_REFUSED: {
    status: 400,
    message:
      'Marina does not connect to internal addresses (loopback, private, link-local) or to its own ports, unless a platform admin allows the range.',
    hint: 'Use a public address, or ask a platform administrator to allow that address range.',
    group: 'platform',
  },
  MARINA_E_UPDATE_FAILED: {
    status: 500,
    message: 'The update failed and was rolled back; its log has the Odoo errors.',
    hint: 'Read the Odoo errors in the job log, fix the modules in the repository, and update again.',
    group: 'instances',
  },
  MARINA_E_HOOK_REJECTED: {
    status: 401,
    message: 'The webhook signature or secret does not match.',
    hint: "Copy the push hook's secret from Marina into the webhook settings of the git host.",
    group: 'repositories',
  },
  MARINA_E_NO_INSTANCE_TO_UPDATE: {
    status: 409,
    message: 'The project has no instance to update yet.',
    hint: "Create an instance in the repository's project, then pull.",
    group: 'repositories',
  },
  MARINA_E_ADDONS_INVALID: {
    status: 500,
    message:
      "The repository's addons cannot be used: a folder is missing, is a file or a symbolic link, lies outside the checkout, or holds a manifest Odoo cannot read.",
    hint: "Fix what the message names in the repository (or the repository's sub-folder setting), push, and pull again.",
    group: 'repositories',
  },
  MARINA_E_RANGE_NOT_SATISFIABLE: {
    status: 416,
    message: 'The requested range is outside the file.',
    hint: 'Request a byte range inside the file size, or download the whole file without a Range header.',
    group: 'request',
  },
  MARINA_E_DATABASE_UNAVAILABLE: {
    status: 503,
    message: "Marina's database cannot be reached.",
    hint: "Check that Marina's PostgreSQL server is running and reachable, then try again.",
    group: 'platform',
  },
  MARINA_E_DATABASE_SERVER_UNAVAILABLE: {
    status: 500,
    message: 'The PostgreSQL server of the Odoo databases cannot be reached or is not set up right.',
    hint: 'Check MARINA_ODOO_DATABASE_URL (a superuser with its password, at an address that answers) or the managed PostgreSQL container on the host, then try again.',
    group: 'platform',
  },
  MARINA_E_ODOO_VERSION_UNAVAILABLE: {
    // A refusal of what was asked for (a version this host cannot run), not a fault inside Marina.
    status: 409,
    message:
      "This Odoo version cannot run here: it is not in the version catalog, its source folder is missing, or its image does not follow the official odoo image's layout.",
    hint: 'Check the MARINA_ODOO_<major>_IMAGE and MARINA_ODOO_<major>_SOURCE settings of that version, then try again.',
    group: 'platform',
  },
  ...edgeErrors,
  ...selfServiceErrors,
  ...clusterErrors,
  MARINA_E_INTERNAL: {
    status: 500,
    message: 'Something went wrong inside Marina; the log has the details.',
    hint: "Try again; if it keeps failing, report it with the matching lines of Marina's log.",
    group: 'platform',
  },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof errorCatalog;

export class MarinaError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? errorCatalog[code].message);
    this.name = 'MarinaError';
    this.code = code;
    this.status = errorCatalog[code].status;
    this.details = details;
  }

  toBody(): { error: { code: ErrorCode; message: string; details: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, details: this.details ?? {} } };
  }
}

export const fail = (code: ErrorCode, message?: string, details?: Record<string, unknown>): never => {
  throw new MarinaError(code, message, details);
};

export const notFound = (what: string): MarinaError => new MarinaError('MARINA_E_NOT_FOUND', `${what} not found.`);

/** A problem with Marina's configuration: stops start-up, names every bad variable. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Marina's configuration is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
