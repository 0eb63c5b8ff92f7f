import { runtimeContract } from './contract.js';
import { MemoryRuntime } from './memory.js';

runtimeContract('memory stand-in', async () => {
  const instanceImage = 'marina-test/odoo-standin';
  const toolsImage = 'marina-test/postgres:15';
  return {
    runtime: new MemoryRuntime({ images: [instanceImage, toolsImage] }),
    namespace: 'mtmemory',
    instanceImage,
    toolsImage,
    serve: (lines) => ['serve', ...lines],
    cleanup: async () => undefined,
  };
});
