import type { Services } from '../../app/services.js';
import type { MarinaConfig } from '../../config.js';

export interface RouteOptions {
  services: Services;
  config: MarinaConfig;
}
