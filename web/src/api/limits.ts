import type { paths } from '../../../src/api/schema';
import openapi from './openapi.json';

/**
 * The server's limits (lengths, ranges, steps), read from the OpenAPI document the server
 * generates from its own schemas (`npm run gen:api`), so the UI never keeps a copy that can drift.
 * The bundle holds only these parts of the document (see web/openapi-limits.ts).
 */

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  anyOf?: Schema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  pattern?: string;
  /** A minimum the service checks itself (its own error code), so it is not a schema keyword. */
  'x-marina-min-length'?: number;
}

interface Operation {
  requestBody?: { content?: { 'application/json'?: { schema?: Schema } } };
  parameters?: { in: string; name: string; schema?: Schema }[];
}

const document = openapi as unknown as { paths: Record<string, Record<string, Operation | undefined> | undefined> };

type Method = 'get' | 'post' | 'put' | 'patch';
type Path = keyof paths;

function missing(where: string): never {
  throw new Error(`The OpenAPI document has no limit at ${where}: run npm run gen:api.`);
}

/** A nullable field is `anyOf: [schema, null]`; its limits are on the first branch. */
const unwrap = (schema: Schema): Schema => schema.anyOf?.find((branch) => branch.type !== 'null') ?? schema;

/** One field of a request body; dots walk into nested objects ("sftp.port"). */
function bodyField(method: Method, path: Path, field: string): Schema {
  const where = `${method.toUpperCase()} ${path} ${field}`;
  let schema = document.paths[path]?.[method]?.requestBody?.content?.['application/json']?.schema ?? missing(where);
  for (const name of field.split('.')) schema = unwrap(unwrap(schema).properties?.[name] ?? missing(where));
  return schema;
}

function queryParameter(path: Path, name: string): Schema {
  const where = `GET ${path}?${name}`;
  return (
    document.paths[path]?.get?.parameters?.find((p) => p.in === 'query' && p.name === name)?.schema ?? missing(where)
  );
}

function required(value: number | undefined, where: string): number {
  return value ?? missing(where);
}

/** The length bounds of a text field. */
function text(schema: Schema) {
  return { maxLength: required(schema.maxLength, 'maxLength') };
}

/** The bounds of a number field. */
function range(schema: Schema) {
  return { min: required(schema.minimum, 'minimum'), max: required(schema.maximum, 'maximum') };
}

/** The bounds and step of a number field the server accepts in steps only. */
function steppedRange(schema: Schema) {
  return { ...range(schema), step: required(schema.multipleOf, 'multipleOf') };
}

/** A pattern the server checks a field against (the rule behind a live check in a form). */
function patternOf(schema: Schema, where: string): RegExp {
  return new RegExp(schema.pattern ?? missing(`${where} pattern`));
}

const password = bodyField('post', '/api/v1/setup', 'password');
const passphrase = bodyField('post', '/api/v1/destinations', 'encryption.passphrase');

export const limits = {
  email: text(bodyField('post', '/api/v1/organizations/{id}/members', 'email')),
  /** A person's or an organization's name. */
  name: text(bodyField('post', '/api/v1/organizations', 'name')),
  slug: text(bodyField('post', '/api/v1/organizations', 'slug')),
  /** What a machine name (slug, project or instance name) must match; the form checks it as the user types. */
  slugPattern: patternOf(bodyField('post', '/api/v1/organizations', 'slug'), 'POST /api/v1/organizations slug'),
  password: {
    minLength: required(password['x-marina-min-length'], 'password x-marina-min-length'),
    maxLength: required(password.maxLength, 'password maxLength'),
  },
  projectSlug: text(bodyField('post', '/api/v1/projects', 'name')),
  instanceName: text(bodyField('post', '/api/v1/instances', 'name')),
  instanceCpus: steppedRange(bodyField('post', '/api/v1/instances', 'cpus')),
  instanceMemoryMb: range(bodyField('post', '/api/v1/instances', 'memoryMb')),
  tokenName: text(bodyField('post', '/api/v1/tokens', 'name')),
  tokenDays: range(bodyField('post', '/api/v1/tokens', 'expiresInDays')),
  destinationName: text(bodyField('post', '/api/v1/destinations', 'name')),
  sftpPort: range(bodyField('post', '/api/v1/destinations', 'sftp.port')),
  passphrase: {
    minLength: required(passphrase['x-marina-min-length'], 'passphrase x-marina-min-length'),
    maxLength: required(passphrase.maxLength, 'passphrase maxLength'),
  },
  /** How many backups a retention rule keeps. */
  retentionKeep: range(bodyField('post', '/api/v1/retention/preview', 'policy.last')),
  verifyEveryDays: range(bodyField('put', '/api/v1/instances/{id}/schedule', 'verifyEveryDays')),
  smtpPort: range(bodyField('put', '/api/v1/settings/smtp', 'port')),
  importMaxBytes: range(bodyField('put', '/api/v1/settings/imports', 'maxUncompressedBytes')),
  importMaxEntries: range(bodyField('put', '/api/v1/settings/imports', 'maxEntries')),
  importMaxRatio: range(bodyField('put', '/api/v1/settings/imports', 'maxCompressionRatio')),
  logSearch: text(queryParameter('/api/v1/instances/{id}/logs', 'q')),
  instanceSearch: text(queryParameter('/api/v1/instances', 'search')),
  logTail: range(queryParameter('/api/v1/instances/{id}/logs', 'tail')),
} as const;
