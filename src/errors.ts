/**
 * The one catalogue of Marina's errors. Every failure a user can see has a stable code,
 * an HTTP status and a message they can act on. Codes never change meaning once released.
 */
export const errorCatalog = {
  MARINA_E_VALIDATION: { status: 400, message: 'The request is not valid.' },
  MARINA_E_BAD_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  MARINA_E_WEAK_PASSWORD: { status: 400, message: 'The password is too weak.' },
  MARINA_E_UNAUTHENTICATED: { status: 401, message: 'Sign in or send an API token first.' },
  MARINA_E_INVALID_CREDENTIALS: { status: 401, message: 'Email or password is wrong.' },
  MARINA_E_SESSION_EXPIRED: { status: 401, message: 'Your session has expired; sign in again.' },
  MARINA_E_INVALID_TOKEN: { status: 401, message: 'The API token is unknown, revoked or expired.' },
  MARINA_E_CSRF: {
    status: 403,
    message: 'Missing or wrong CSRF token: send the X-Marina-CSRF header with the token from /api/v1/me.',
  },
  MARINA_E_FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  MARINA_E_TOKEN_SCOPE: {
    status: 403,
    message: 'This API token does not allow this: it is read-only or limited to one organization.',
  },
  MARINA_E_ACCOUNT_DISABLED: {
    status: 403,
    message: 'This account is disabled: ask a platform administrator of this Marina to enable it.',
  },
  MARINA_E_NOT_FOUND: { status: 404, message: 'Not found.' },
  MARINA_E_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed.' },
  MARINA_E_CONFLICT: { status: 409, message: 'This conflicts with something that already exists.' },
  MARINA_E_SETUP_DONE: { status: 409, message: 'Marina already has an administrator; sign in instead.' },
  MARINA_E_INVALID_SETUP_TOKEN: {
    status: 403,
    message: 'The setup link is invalid or was already used; restart Marina for a new one.',
  },
  MARINA_E_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  MARINA_E_ARCHIVE_TOO_LARGE: {
    status: 413,
    message: 'The archive inflates past the import limits (total size, entry count or compression ratio).',
  },
  MARINA_E_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the request body as application/json.' },
  MARINA_E_RATE_LIMITED: { status: 429, message: 'Too many attempts; wait and try again.' },
  MARINA_E_TOO_MANY_STREAMS: {
    status: 429,
    message: 'Too many live event streams are open; close another tab or wait.',
  },
  MARINA_E_SIGNIN_SLOWED: {
    status: 429,
    message: 'Too many failed sign-ins for this account from your address; wait before trying again.',
  },
  MARINA_E_DOCKER_UNAVAILABLE: { status: 503, message: 'The Docker engine cannot be reached.' },
  MARINA_E_IMAGE_MISSING: { status: 503, message: 'A Docker image Marina needs is not available on the host.' },
  MARINA_E_CONFIRMATION_REQUIRED: {
    status: 400,
    message: 'This is a production instance: type its name in "confirm" to go ahead.',
  },
  MARINA_E_INVALID_STATE: { status: 409, message: 'The instance is not in a state that allows this.' },
  MARINA_E_IMPORT_BUSY: {
    status: 409,
    message: 'Another import of this organization is running; one import at a time.',
  },
  MARINA_E_NO_FREE_PORT: { status: 503, message: 'No free port is left in MARINA_INSTANCE_PORTS on this host.' },
  MARINA_E_JOB_FAILED: { status: 500, message: 'The job failed; its log says why.' },
  MARINA_E_INTERRUPTED: {
    status: 500,
    message: 'Marina stopped while this job was running; what it had done was undone.',
  },
  MARINA_E_ARCHIVE_INVALID: {
    status: 400,
    message: 'The archive is not a valid Odoo or Marina backup (damaged, unsafe paths, or missing files).',
  },
  MARINA_E_BACKUP_UNAVAILABLE: {
    status: 409,
    message: 'This backup is not completed, or its file is missing or does not match its checksum.',
  },
  MARINA_E_COPY_FAILED: {
    status: 502,
    message: 'An offsite copy could not be made or verified; the backup stays on this server.',
  },
  MARINA_E_STORAGE: { status: 502, message: 'The backup destination answered with an error.' },
  MARINA_E_PINNED: { status: 409, message: 'This backup is pinned; unpin it before deleting it.' },
  MARINA_E_SMTP_NOT_CONFIGURED: {
    status: 409,
    message: 'No SMTP server is set: a platform admin sets one in the settings first.',
  },
  MARINA_E_SMTP_FAILED: { status: 502, message: 'The SMTP server could not be reached or refused the email.' },
  MARINA_E_GIT: { status: 502, message: 'The git repository could not be reached or refused the request.' },
  MARINA_E_OUTBOUND_REFUSED: {
    status: 400,
    message:
      'Marina does not connect to internal addresses (loopback, private, link-local) or to its own ports, unless a platform admin allows the range.',
  },
  MARINA_E_HOST_KEY: {
    status: 409,
    message: "The SFTP server's host key is not pinned or does not match the pinned one; nothing was sent.",
  },
  MARINA_E_UPDATE_FAILED: {
    status: 500,
    message: 'The update failed and was rolled back; its log has the Odoo errors.',
  },
  MARINA_E_HOOK_REJECTED: { status: 401, message: 'The webhook signature or secret does not match.' },
  MARINA_E_RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested range is outside the file.' },
  MARINA_E_DATABASE_UNAVAILABLE: { status: 503, message: "Marina's database cannot be reached." },
  MARINA_E_INTERNAL: { status: 500, message: 'Something went wrong inside Marina; the log has the details.' },
} as const satisfies Record<string, { status: number; message: string }>;

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
