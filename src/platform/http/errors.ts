import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MarinaError } from '../errors.js';
import { slugMessage } from '../name-rule.js';
import { limits, patterns } from '../validation.js';

const DB_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001']);

const patternHints: Record<string, string> = {
  slug: 'must be 1 to 40 lowercase letters, digits and dashes, starting and ending with a letter or digit',
  email: 'is not a valid email address',
  name: 'must not contain control characters',
  id: 'is not a valid id',
  userId: 'is not a valid user id',
  cursor: 'is not a cursor returned by this API',
  category: 'must be a lowercase category name such as auth or organization',
};

function fromFastify(error: FastifyError): MarinaError | undefined {
  if (error.validation) {
    const issues = error.validation.map((v) => {
      const params = v.params as { missingProperty?: string; additionalProperty?: string };
      const base = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
      const join = (name: string) => (base ? `${base}.${name}` : name);
      if (v.keyword === 'required' && params.missingProperty)
        return { field: join(params.missingProperty), message: 'is required' };
      if (v.keyword === 'additionalProperties' && params.additionalProperty) {
        return { field: join(params.additionalProperty), message: 'is not a known field' };
      }
      if (v.keyword === 'pattern' && (v.params as { pattern?: string }).pattern === patterns.slug) {
        // The rule in words and what the value breaks of it, whatever the field is called.
        // (ajv's verbose mode adds the value and its schema to each error.)
        const { data, parentSchema } = v as { data?: unknown; parentSchema?: { maxLength?: number } };
        const said = typeof data === 'string' ? slugMessage(data, parentSchema?.maxLength ?? limits.slug) : null;
        return { field: base, message: said ?? patternHints.slug ?? 'is not a valid name' };
      }
      if (v.keyword === 'pattern') {
        const name = base.split('.').at(-1) ?? '';
        return { field: base, message: patternHints[name] ?? 'has characters or a shape that are not allowed' };
      }
      return { field: base, message: v.message ?? 'is not valid' };
    });
    const first = issues[0];
    const where = error.validationContext ?? 'request';
    // A whole sentence (the name rule) follows a colon; a phrase ("is required") continues the field.
    const sentence = first !== undefined && /^[A-Z]/.test(first.message);
    const message = !first
      ? 'The request is not valid.'
      : sentence
        ? `Invalid ${where}: ${first.field ? `${first.field}: ` : ''}${first.message}`
        : `Invalid ${where}: ${first.field ? `${first.field} ` : ''}${first.message}.`;
    return new MarinaError('MARINA_E_VALIDATION', message, { issues });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new MarinaError('MARINA_E_UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new MarinaError('MARINA_E_PAYLOAD_TOO_LARGE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new MarinaError('MARINA_E_BAD_JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new MarinaError('MARINA_E_VALIDATION', 'The Content-Length header does not match the body.');
  }
  if (error instanceof SyntaxError && error.statusCode === 400) return new MarinaError('MARINA_E_BAD_JSON');
  if (DB_DOWN_CODES.has(String(error.code))) return new MarinaError('MARINA_E_DATABASE_UNAVAILABLE');
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new MarinaError('MARINA_E_VALIDATION', error.message);
  }
  return undefined;
}

/** What a file download sets before its first byte, which an error answered instead must not keep. */
const FILE_HEADERS = ['content-type', 'content-disposition', 'content-length', 'etag', 'x-checksum-sha256'];

export function sendError(reply: FastifyReply, error: MarinaError): FastifyReply {
  // A stream that failed before its first byte (a damaged offsite copy) leaves the file's headers on
  // the reply, and on the raw response too: the error goes out as JSON, not as an attachment.
  if (!reply.raw.headersSent) {
    for (const name of FILE_HEADERS) {
      reply.removeHeader(name);
      reply.raw.removeHeader(name);
    }
    reply.type('application/json; charset=utf-8');
  }
  const retry = error.details?.retryAfterSeconds;
  if (typeof retry === 'number') reply.header('retry-after', String(retry));
  return reply.status(error.status).send(error.toBody());
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const known = error instanceof MarinaError ? error : fromFastify(error);
    if (known) {
      if (known.status >= 500) request.log.error({ err: error }, known.message);
      return sendError(reply, known);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, new MarinaError('MARINA_E_INTERNAL'));
  });
}
