import { createHmac } from 'node:crypto';
import type { AlertChannelKind } from '../../db/schema-metrics.js';

/** One alert message, whatever channel carries it. */
export interface AlertMessage {
  event: 'firing' | 'repeat' | 'resolved' | 'test';
  alert: { rule: string; title: string; incidentId: string | null; failed: string | null; error: string | null };
  instance: { id: string; name: string; label: string; url: string | null; page: string } | null;
  organization: { id: string; name: string };
  startedAt: string | null;
  resolvedAt: string | null;
  details: Record<string, unknown>;
}

/** The one line a chat shows. */
export function summaryLine(m: AlertMessage): string {
  const where = m.instance ? `${m.instance.label} (${m.organization.name})` : m.organization.name;
  if (m.event === 'test') return `Marina: a test message for ${m.organization.name}. This channel works.`;
  if (m.event === 'resolved') return `✅ Resolved: ${m.alert.title}: ${where}. ${m.instance?.page ?? ''}`.trim();
  const failed = m.alert.failed ? ` (${m.alert.failed} check failed: ${m.alert.error ?? 'no answer'})` : '';
  const still = m.event === 'repeat' ? ' still' : '';
  return `🔴 ${m.alert.title}${still}: ${where}${failed}. ${m.instance?.page ?? ''}`.trim();
}

/** The body each kind of channel expects (their incoming webhooks' documented shapes). */
export function webhookBody(kind: Exclude<AlertChannelKind, 'email'>, m: AlertMessage): string {
  const text = summaryLine(m);
  switch (kind) {
    case 'slack':
    case 'mattermost':
      return JSON.stringify({ text });
    case 'discord':
      return JSON.stringify({ content: text });
    case 'teams':
      return JSON.stringify({
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        summary: text.slice(0, 200),
        themeColor: m.event === 'resolved' || m.event === 'test' ? '2E7D32' : 'C62828',
        text,
      });
    default:
      return JSON.stringify({
        event: m.event,
        alert: m.alert,
        instance: m.instance
          ? { id: m.instance.id, name: m.instance.name, url: m.instance.url, page: m.instance.page }
          : null,
        organization: m.organization,
        startedAt: m.startedAt,
        resolvedAt: m.resolvedAt,
        details: m.details,
      });
  }
}

/**
 * The generic webhook's `X-Marina-Signature`: HMAC-SHA256 of the raw body, as most receivers verify
 * it; the body carries the event's own times and the timestamp header is sent beside it.
 */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
