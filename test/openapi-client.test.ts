import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  buildOpenApiDocument,
  buildSchemaTypes,
  openApiJsonPath,
  schemaTypesPath,
} from '../scripts/generate-api-client.js';

const STALE = 'The committed web API client is stale: run npm run gen:api and commit web/src/api.';

describe('the generated web API client', () => {
  it('matches the OpenAPI document the server publishes', async () => {
    const committed = JSON.parse(await readFile(openApiJsonPath, 'utf8'));
    expect(committed, STALE).toEqual(await buildOpenApiDocument());
  });

  it('has TypeScript types generated from that document', async () => {
    const committed = JSON.parse(await readFile(openApiJsonPath, 'utf8'));
    expect(await readFile(schemaTypesPath, 'utf8'), STALE).toBe(await buildSchemaTypes(committed));
  });
});
