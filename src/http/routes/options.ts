import type { MarinaConfig } from '../../config.js';
import type { Services } from '../../core/services.js';

export interface RouteOptions {
  services: Services;
  config: MarinaConfig;
}
