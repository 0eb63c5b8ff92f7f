import { DockerRuntime } from './docker/runtime.js';
import type { Runtime, RuntimeFactory } from './port.js';

/** The runtime a host's address names: a Docker engine (the only kind so far). */
export const connectRuntime: RuntimeFactory = (address, tls): Runtime => new DockerRuntime(address, tls);

export type * from './port.js';
export { LABEL_ID, LABEL_KIND, LABEL_MANAGED, LABEL_NAMESPACE } from './port.js';
