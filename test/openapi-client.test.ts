import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  buildOpenApiDocument,
  buildSchemaTypes,
  openApiJsonPath,
  schemaTypesPath,
} from '../scripts/generate-api-client.js';

const STALE =
  'The committed API types are stale: run npm run gen:api and commit web/src/api/openapi.json and src/api/schema.d.ts.';

describe('the generated API clients (web UI and CLI)', () => {
  it('matches the OpenAPI document the server publishes', async () => {
    const committed = JSON.parse(await readFile(openApiJsonPath, 'utf8'));
    expect(committed, STALE).toEqual(await buildOpenApiDocument());
  });

  it('has TypeScript types generated from that document (one file, for both)', async () => {
    const committed = JSON.parse(await readFile(openApiJsonPath, 'utf8'));
    expect(await readFile(schemaTypesPath, 'utf8'), STALE).toBe(await buildSchemaTypes(committed));
  });
});
