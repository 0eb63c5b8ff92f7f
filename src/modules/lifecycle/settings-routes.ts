import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses } from '../../platform/http/schemas.js';
import { lifecycleSettingLimits } from './settings-service.js';

const days = (field: keyof typeof lifecycleSettingLimits, description: string) =>
  Type.Integer({
    minimum: lifecycleSettingLimits[field].min,
    maximum: lifecycleSettingLimits[field].max,
    description,
  });

const LifecycleSettings = Type.Object(
  {
    graceDays: days(
      'graceDays',
      'Days a suspended customer keeps its instances (stopped) before they are deleted; default 30.',
    ),
    finalBackupDays: days('finalBackupDays', 'Days the final backups taken before that deletion are kept; default 90.'),
  },
  { title: 'LifecycleSettings', additionalProperties: false },
);
const Answer = responses({ 200: Type.Object({ lifecycle: LifecycleSettings }) });

/** The customer lifecycle's settings (platform admins; organization tokens are refused). */
export const lifecycleSettingsRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/settings/lifecycle',
    {
      schema: {
        tags: ['settings'],
        summary: 'How long suspended customers and their final backups are kept (platform admins)',
        response: Answer,
      },
    },
    async (request) => ({ lifecycle: await services.lifecycleSettings.get(contextOf(request).actor) }),
  );

  app.put(
    '/settings/lifecycle',
    {
      schema: {
        tags: ['settings'],
        summary: 'Change the grace period of suspended customers and how long final backups are kept (platform admins)',
        body: LifecycleSettings,
        response: Answer,
      },
    },
    async (request) => ({ lifecycle: await services.lifecycleSettings.set(contextOf(request), request.body) }),
  );
};
