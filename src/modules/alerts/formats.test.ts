import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { maskTarget } from './channels.js';
import { type AlertMessage, signature, summaryLine, webhookBody } from './formats.js';

const message: AlertMessage = {
  event: 'firing',
  alert: {
    rule: 'instance_down',
    title: 'Instance down',
    incidentId: 'i-1',
    failed: 'direct',
    error: 'ECONNREFUSED',
    summary: 'The direct check failed: ECONNREFUSED.',
    advice: 'Open the instance.',
  },
  instance: {
    id: 'x',
    name: 'main',
    label: 'shop/main',
    url: 'https://main.example.com',
    page: 'https://marina.test/instances/x',
  },
  subject: { label: 'shop/main', page: 'https://marina.test/instances/x' },
  organization: { id: 'o', name: 'Acme' },
  startedAt: '2030-01-01T00:00:00.000Z',
  resolvedAt: null,
  details: { failed: 'direct' },
};

describe('alert message formats', () => {
  it('gives each chat the shape its incoming webhook expects, with the instance, what failed and a link', () => {
    const line = summaryLine(message);
    expect(line).toContain('shop/main');
    expect(line).toContain('The direct check failed: ECONNREFUSED.');
    expect(line).toContain('https://marina.test/instances/x');
    expect(JSON.parse(webhookBody('slack', message))).toEqual({ text: line });
    expect(JSON.parse(webhookBody('mattermost', message))).toEqual({ text: line });
    expect(JSON.parse(webhookBody('discord', message))).toEqual({ content: line });
    expect(JSON.parse(webhookBody('teams', message))).toMatchObject({ '@type': 'MessageCard', text: line });
    expect(summaryLine({ ...message, event: 'resolved' })).toMatch(/^✅ Resolved: Instance down: shop\/main/);
  });

  it('sends the generic webhook its documented JSON, signed with HMAC-SHA256 of the raw body', () => {
    const body = webhookBody('webhook', message);
    expect(Object.keys(JSON.parse(body))).toEqual([
      'event',
      'alert',
      'instance',
      'subject',
      'organization',
      'startedAt',
      'resolvedAt',
      'details',
    ]);
    const expected = createHmac('sha256', 'k'.repeat(32)).update(body).digest('hex');
    expect(signature('k'.repeat(32), body)).toBe(`sha256=${expected}`);
  });

  it('never shows a webhook URL past its origin (Slack and Discord carry their token in the path)', () => {
    expect(maskTarget('slack', 'https://hooks.slack.com/services/T0/B0/secret')).toBe('https://hooks.slack.com/…');
    expect(maskTarget('email', 'ops@acme.test')).toBe('ops@acme.test');
  });
});
