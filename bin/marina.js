#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (npm run build).
import('../dist/server/cli/index.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('marina: not built yet — run `npm run build` first.');
    process.exit(1);
  }
  throw error;
});
