import { queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';

/* The Mail API (design #21, "Mail API"), typed from the generated OpenAPI schema. */

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type BodyOf<T> = T extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

export type MailServer = Json<paths['/api/v1/instances/{id}/mail-server']['get']['responses'][200]>['mailServer'];
export type MailServerInput = BodyOf<paths['/api/v1/instances/{id}/mail-server']['put']>;
export type MailPage = Json<paths['/api/v1/instances/{id}/mails']['get']['responses'][200]>;
export type MailSummary = MailPage['mails'][number];
export type MailDetail = Json<paths['/api/v1/instances/{id}/mails/{mailId}']['get']['responses'][200]>['mail'];

export const mailKeys = {
  server: (instanceId: string) => ['mail-server', instanceId] as const,
  inbox: (instanceId: string) => ['mails', instanceId] as const,
  one: (instanceId: string, mailId: string) => ['mails', instanceId, mailId] as const,
};

/** New mail shows up on its own: the inbox is asked again this often while it is open. */
export const INBOX_REFETCH_MS = 5000;

const path = (id: string) => ({ params: { path: { id } } });
const mailPath = (id: string, mailId: string) => ({ params: { path: { id, mailId } } });

export const mailServerQuery = (instanceId: string) =>
  queryOptions({
    queryKey: mailKeys.server(instanceId),
    queryFn: async () => (await call(api.GET('/api/v1/instances/{id}/mail-server', path(instanceId)))).mailServer,
  });

export const inboxQuery = (instanceId: string, limit: number) =>
  queryOptions({
    queryKey: [...mailKeys.inbox(instanceId), limit],
    queryFn: () =>
      call(api.GET('/api/v1/instances/{id}/mails', { params: { path: { id: instanceId }, query: { limit } } })),
    refetchInterval: INBOX_REFETCH_MS,
  });

export const mailQuery = (instanceId: string, mailId: string) =>
  queryOptions({
    queryKey: mailKeys.one(instanceId, mailId),
    queryFn: async () =>
      (await call(api.GET('/api/v1/instances/{id}/mails/{mailId}', mailPath(instanceId, mailId)))).mail,
  });

/** The sender's HTML as text, for an iframe's srcdoc (the API answers it under a sandbox CSP). */
export const mailHtmlQuery = (instanceId: string, mailId: string) =>
  queryOptions({
    queryKey: [...mailKeys.one(instanceId, mailId), 'html'],
    queryFn: async () => {
      const response = await fetch(`/api/v1/instances/${instanceId}/mails/${mailId}/html`, {
        credentials: 'same-origin',
      });
      if (!response.ok) throw new Error(`The HTML of this message could not be read (${response.status}).`);
      return response.text();
    },
  });

export const attachmentUrl = (instanceId: string, mailId: string, index: number) =>
  `/api/v1/instances/${instanceId}/mails/${mailId}/attachments/${index}`;

export const mailApi = {
  setServer: (instanceId: string, body: MailServerInput) =>
    call(api.PUT('/api/v1/instances/{id}/mail-server', { ...path(instanceId), body })),
  deleteAll: (instanceId: string) => call(api.DELETE('/api/v1/instances/{id}/mails', path(instanceId))),
};
