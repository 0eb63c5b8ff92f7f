import type * as OpenidClient from 'openid-client';
import { lazyImport } from '../../platform/lazy.js';

export type { OpenidClient };

/** openid-client (with oauth4webapi and jose) is loaded when a provider is first checked or used. */
export const loadOpenidClient: () => Promise<typeof OpenidClient> = lazyImport(() => import('openid-client'));
