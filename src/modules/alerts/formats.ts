import { createHmac } from 'node:crypto';
import type { AlertChannelKind } from '../../db/schema-metrics.js';

/** One alert message, whatever channel carries it. */
export interface AlertMessage {
  event: 'firing' | 'repeat' | 'resolved' | 'test';
  alert: {
    rule: string;
    title: string;
    incidentId: string | null;
    failed: string | null;
    error: string | null;
    /** What is wrong, in a sentence. */
    summary: string | null;
    /** What to do about it. */
    advice: string | null;
  };
  instance: { id: string; name: string; label: string; url: string | null; page: string } | null;
  /** What it is about (an instance, a domain, a host, an organization) and Marina's page of it. */
  subject: { label: string; page: string } | null;
  /** Null id: the platform's own. */
  organization: { id: string | null; name: string };
  startedAt: string | null;
  resolvedAt: string | null;
  details: Record<string, unknown>;
}

/** The one line a chat shows. */
export function summaryLine(m: AlertMessage): string {
  const label = m.subject?.label ?? m.instance?.label;
  const where = label ? `${label} (${m.organization.name})` : m.organization.name;
  const page = m.subject?.page ?? m.instance?.page ?? '';
  if (m.event === 'test') return `Marina: a test message for ${m.organization.name}. This channel works.`;
  if (m.event === 'resolved') return `✅ Resolved: ${m.alert.title}: ${where}. ${page}`.trim();
  const why = m.alert.summary ? ` ${m.alert.summary}` : '';
  const still = m.event === 'repeat' ? ' still' : '';
  return `🔴 ${m.alert.title}${still}: ${where}.${why} ${page}`.trim();
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
        subject: m.subject,
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
