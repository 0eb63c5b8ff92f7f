import type { paths } from '../../../../src/api/schema';

type Json<T> = T extends { responses: { 200: { content: { 'application/json': infer J } } } } ? J : never;

export type TemplateSummary = Json<paths['/api/v1/mail-templates']['get']>['templates'][number];
export type MailTemplate = Json<paths['/api/v1/mail-templates/{key}/{locale}']['get']>['template'];
export type Rendered = Json<paths['/api/v1/mail-templates/{key}/preview']['post']>['rendered'];
export type OutboxMail = Json<paths['/api/v1/mail-outbox']['get']>['mails'][number];

export const mailTemplateKeys = {
  all: ['mail-templates'] as const,
  list: ['mail-templates', 'list'] as const,
  one: (key: string, locale: string) => ['mail-templates', 'one', key, locale] as const,
  outbox: ['mail-outbox'] as const,
};
