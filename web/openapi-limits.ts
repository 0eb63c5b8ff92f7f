import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';

/** The keywords that carry a limit (and the ones needed to reach it); descriptions and responses are dropped. */
const kept = new Set([
  'type',
  'properties',
  'items',
  'anyOf',
  'additionalProperties',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'multipleOf',
  'pattern',
  'minItems',
  'maxItems',
]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function prune(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(prune);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, field]) => [name, prune(field)]));
    } else if (kept.has(key) || key.startsWith('x-')) {
      out[key] = prune(value);
    }
  }
  return out;
}

interface Operation {
  requestBody?: { content?: Record<string, { schema?: Json }> };
  parameters?: { in: string; name: string; schema?: Json }[];
}

/**
 * The OpenAPI document is about 1 MB; the UI reads only the limits in request bodies and query
 * parameters (web/src/api/limits.ts). This keeps just those in the bundle (a few kB), in the
 * document's own shape, so limits.ts reads the same paths at build time and in the type checker.
 */
export function openApiLimits(): Plugin {
  return {
    name: 'marina-openapi-limits',
    enforce: 'pre',
    load(id) {
      if (!id.endsWith('/src/api/openapi.json')) return null;
      const document = JSON.parse(readFileSync(id, 'utf8')) as { paths: Record<string, Record<string, Operation>> };
      const paths: Record<string, Record<string, unknown>> = {};
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          const body = operation.requestBody?.content?.['application/json']?.schema;
          const parameters = (operation.parameters ?? [])
            .filter((p) => p.in === 'query' && p.schema)
            .map((p) => ({ in: p.in, name: p.name, schema: prune(p.schema ?? null) }));
          if (!body && parameters.length === 0) continue;
          paths[path] ??= {};
          paths[path][method] = {
            ...(body ? { requestBody: { content: { 'application/json': { schema: prune(body) } } } } : {}),
            ...(parameters.length > 0 ? { parameters } : {}),
          };
        }
      }
      return JSON.stringify({ paths });
    },
  };
}
