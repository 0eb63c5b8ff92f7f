/** The error every Marina endpoint answers with, plus a status 0 for "the server could not be reached". */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Field name → problem, from validation issues or from a service error that names its field. */
  get fieldErrors(): Record<string, string> {
    const result: Record<string, string> = {};
    const issues = this.details.issues;
    if (Array.isArray(issues)) {
      for (const issue of issues) {
        if (isIssue(issue) && issue.field && !(issue.field in result)) result[issue.field] = issue.message;
      }
    }
    const field = this.details.field;
    if (typeof field === 'string' && !(field in result)) result[field] = this.message;
    return result;
  }

  get retryAfterSeconds(): number | undefined {
    const value = this.details.retryAfterSeconds;
    return typeof value === 'number' ? value : undefined;
  }
}

function isIssue(value: unknown): value is { field: string; message: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { field?: unknown }).field === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string';
}

export function toApiError(status: number, body: unknown): ApiError {
  if (isErrorBody(body)) return new ApiError(status, body.error.code, body.error.message, body.error.details ?? {});
  // A proxy in front of Marina (or a crashed upstream) answers without Marina's error shape.
  return new ApiError(status, 'MARINA_E_HTTP', `Marina answered with HTTP ${status}; try again in a moment.`);
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const retry = error.retryAfterSeconds;
    return retry ? `${error.message} (try again in ${formatWait(retry)})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function formatWait(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** Whether every problem in the error belongs to one of these fields, so the inline messages say it all. */
export function coveredByFields(error: unknown, fields: readonly string[]): boolean {
  if (!(error instanceof ApiError)) return false;
  const named = Object.keys(error.fieldErrors);
  return named.length > 0 && named.every((field) => fields.includes(field));
}
