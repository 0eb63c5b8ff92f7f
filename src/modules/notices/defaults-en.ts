import type { NoticeKey } from '../../platform/notices.js';
import type { MailTemplate } from './render.js';

// The shipped English mails. Values in the HTML part are escaped by the engine; dates are UTC.
const AT = '| date: "%Y-%m-%d %H:%M"';

/** A plain, inline-styled page: mail clients drop <style> blocks and external CSS. */
const page = (body: string): string =>
  `<!doctype html>
<html><body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; color: #1f2933; line-height: 1.5; max-width: 560px; margin: 0 auto; padding: 24px;">
${body.trim()}
<p style="color: #7b8794; font-size: 12px; margin-top: 32px;">Sent by Marina. This is an automatic message.</p>
</body></html>
`;
const button = (url: string, label: string): string =>
  `<p><a href="{{ ${url} }}" style="display: inline-block; background: #2563eb; color: #fff; padding: 10px 18px; border-radius: 6px; text-decoration: none;">${label}</a></p>
<p style="font-size: 13px; color: #52606d;">Or copy this address: {{ ${url} }}</p>`;

export const englishDefaults: Record<NoticeKey, MailTemplate> = {
  verify_email: {
    subject: '[Marina] Confirm your email address',
    html: page(`
<p>Confirm that {{ email }} is your address to finish signing up.</p>
${button('url', 'Confirm my address')}
<p>The link works once, until {{ expires_at ${AT} }} UTC. If you did not sign up, ignore this email.</p>`),
    text: `Confirm that {{ email }} is your address to finish signing up:

{{ url }}

The link works once, until {{ expires_at ${AT} }} UTC. If you did not sign up, ignore this email.
`,
  },
  signup_existing_account: {
    subject: '[Marina] You already have an account',
    html: page(`
<p>Someone (probably you) tried to sign up with {{ email }}, which already has a Marina account.</p>
<p>Sign in at <a href="{{ sign_in_url }}">{{ sign_in_url }}</a>, or choose a new password at <a href="{{ reset_url }}">{{ reset_url }}</a>.</p>
<p>If it was not you, ignore this email: nothing was changed.</p>`),
    text: `Someone (probably you) tried to sign up with {{ email }}, which already has a Marina account.

Sign in: {{ sign_in_url }}
Forgot your password? {{ reset_url }}

If it was not you, ignore this email: nothing was changed.
`,
  },
  welcome: {
    subject: '[Marina] {{ organization }}: your Odoo is ready',
    html: page(`
<p>Welcome! The instance <strong>{{ instance }}</strong> of {{ organization }} is ready at <a href="{{ instance_url }}">{{ instance_url }}</a>.</p>
<p>Its administrator credentials are shown once behind this link (it works once, until {{ credentials_expire_at ${AT} }} UTC):</p>
${button('credentials_url', 'Show my credentials')}
<p>Manage your instances at <a href="{{ portal_url }}">{{ portal_url }}</a>.</p>`),
    text: `Welcome! The instance {{ instance }} of {{ organization }} is ready:

{{ instance_url }}

Its administrator credentials are shown once behind this link (it works once, until {{ credentials_expire_at ${AT} }} UTC):

{{ credentials_url }}

Manage your instances at {{ portal_url }}
`,
  },
  invitation: {
    subject: '[Marina] Invitation to join {{ organization }}',
    html: page(`
<p>{{ invited_by }} invited you to join <strong>{{ organization }}</strong> on Marina as {{ role }}.</p>
{% if account_exists %}<p>You already have a Marina account: open the link and confirm with your own password, or sign in at <a href="{{ portal_url }}">{{ portal_url }}</a> and accept it from there.</p>{% else %}<p>Open the link to choose your password; your account is created when you accept.</p>{% endif %}
${button('url', 'Accept the invitation')}
<p>The link works once, until {{ expires_at ${AT} }} UTC. Nobody else has it: do not forward it.</p>
<p>If you did not expect this invitation, ignore this email; nothing happens unless you accept.</p>`),
    text: `{{ invited_by }} invited you to join {{ organization }} on Marina as {{ role }}.

{% if account_exists %}You already have a Marina account: open the link and confirm with your own password,
or sign in at {{ portal_url }} and accept it from there.{% else %}Open the link to choose your password; your account is created when you accept.{% endif %}

{{ url }}

The link works once, until {{ expires_at ${AT} }} UTC. Nobody else has it: do not forward it.
If you did not expect this invitation, ignore this email; nothing happens unless you accept.
`,
  },
  password_reset: {
    subject: '[Marina] Reset your password',
    html: page(`
<p>A new password was asked for {{ email }}.</p>
${button('url', 'Choose a new password')}
<p>The link works once, until {{ expires_at ${AT} }} UTC. If you did not ask, ignore this email: your password stays as it is.</p>`),
    text: `A new password was asked for {{ email }}. Choose it here:

{{ url }}

The link works once, until {{ expires_at ${AT} }} UTC. If you did not ask, ignore this email: your password stays as it is.
`,
  },
  send_access: {
    subject: '[Marina] Access to {{ instance }} ({{ organization }})',
    html: page(`
<p>{{ sent_by }} sent you the access to the instance <strong>{{ instance }}</strong> of {{ organization }}: <a href="{{ instance_url }}">{{ instance_url }}</a>.</p>
<p>The credentials are shown once behind this link (until {{ credentials_expire_at ${AT} }} UTC):</p>
${button('credentials_url', 'Show the credentials')}`),
    text: `{{ sent_by }} sent you the access to the instance {{ instance }} of {{ organization }}:

{{ instance_url }}

The credentials are shown once behind this link (until {{ credentials_expire_at ${AT} }} UTC):

{{ credentials_url }}
`,
  },
  trial_reminder: {
    subject: '[Marina] {{ organization }}: your trial ends in {{ days_left }} day{% if days_left != 1 %}s{% endif %}',
    html: page(`
<p>The {{ plan }} trial of <strong>{{ organization }}</strong> ends on {{ trial_ends_at ${AT} }} UTC ({{ days_left }} day{% if days_left != 1 %}s{% endif %} left).</p>
<p>Choose a plan to keep your instances running:</p>
${button('portal_url', 'Choose a plan')}`),
    text: `The {{ plan }} trial of {{ organization }} ends on {{ trial_ends_at ${AT} }} UTC ({{ days_left }} day{% if days_left != 1 %}s{% endif %} left).

Choose a plan to keep your instances running: {{ portal_url }}
`,
  },
  trial_ended: {
    subject: '[Marina] {{ organization }}: your trial has ended',
    html: page(`
<p>The {{ plan }} trial of <strong>{{ organization }}</strong> has ended: its instances are stopped.</p>
<p>Choose a plan before {{ grace_ends_at ${AT} }} UTC to start them again; after that they are deleted (final backups are kept for a while).</p>
${button('portal_url', 'Choose a plan')}`),
    text: `The {{ plan }} trial of {{ organization }} has ended: its instances are stopped.

Choose a plan before {{ grace_ends_at ${AT} }} UTC to start them again; after that they are deleted
(final backups are kept for a while): {{ portal_url }}
`,
  },
  suspended: {
    subject: '[Marina] {{ organization }} is suspended',
    html: page(`
<p><strong>{{ organization }}</strong> is suspended since {{ since ${AT} }} UTC ({{ reason }}): its instances do not start.</p>
<p>You can still sign in, see everything and download your backups at <a href="{{ portal_url }}">{{ portal_url }}</a>.</p>`),
    text: `{{ organization }} is suspended since {{ since ${AT} }} UTC ({{ reason }}): its instances do not start.

You can still sign in, see everything and download your backups at {{ portal_url }}
`,
  },
  resumed: {
    subject: '[Marina] {{ organization }} is active again',
    html: page(`
<p><strong>{{ organization }}</strong> is active again: its instances may start.</p>
<p><a href="{{ portal_url }}">{{ portal_url }}</a></p>`),
    text: `{{ organization }} is active again: its instances may start.

{{ portal_url }}
`,
  },
  plan_changed: {
    subject: '[Marina] {{ organization }}: plan changed to {{ new_plan }}',
    html: page(`
<p>The plan of <strong>{{ organization }}</strong> changed from {{ old_plan }} to {{ new_plan }}.</p>
<p><a href="{{ portal_url }}">{{ portal_url }}</a></p>`),
    text: `The plan of {{ organization }} changed from {{ old_plan }} to {{ new_plan }}.

{{ portal_url }}
`,
  },
  deletion_notice: {
    subject: '[Marina] {{ organization }}: instances deleted, final backups kept',
    html: page(`
<p>The instances of <strong>{{ organization }}</strong> were deleted. Their final backups can be downloaded until they expire:</p>
<ul>{% for backup in backups %}
<li>{{ backup.instance }}: <a href="{{ backup.url }}">download</a> (until {{ backup.expires_at ${AT} }} UTC)</li>{% endfor %}
</ul>
<p><a href="{{ portal_url }}">{{ portal_url }}</a></p>`),
    text: `The instances of {{ organization }} were deleted. Their final backups can be downloaded until they expire:
{% for backup in backups %}
- {{ backup.instance }} (until {{ backup.expires_at ${AT} }} UTC): {{ backup.url }}{% endfor %}

{{ portal_url }}
`,
  },
  quota_warning: {
    subject:
      '[Marina] {{ organization }}: {% if percent >= 100 %}limit reached{% else %}{{ percent }} % of a limit used{% endif %} ({{ limit }})',
    html: page(`
<p><strong>{{ organization }}</strong> uses {{ usage }} of the {{ allowed }} {{ limit }} its plan {{ plan }} allows ({{ percent }} %).</p>
{% if percent >= 100 %}<p>What would go beyond the limit is refused until something is removed or the plan changes.</p>{% endif %}
<p><a href="{{ portal_url }}">{{ portal_url }}</a></p>`),
    text: `{{ organization }} uses {{ usage }} of the {{ allowed }} {{ limit }} its plan {{ plan }} allows ({{ percent }} %).
{% if percent >= 100 %}
What would go beyond the limit is refused until something is removed or the plan changes.
{% endif %}
{{ portal_url }}
`,
  },
  backup_failed: {
    subject: '[Marina] {{ title }}: {{ instance }}',
    html: page(`
<p><strong>{{ title }}</strong>: {{ instance }}</p>
<table style="border-collapse: collapse;">
<tr><td style="padding-right: 12px;">Instance</td><td>{{ instance }}</td></tr>
<tr><td style="padding-right: 12px;">What failed</td><td>{{ what }}</td></tr>
{% if destination != "" %}<tr><td style="padding-right: 12px;">Destination</td><td>{{ destination }}</td></tr>{% endif %}
<tr><td style="padding-right: 12px;">Started by</td><td>{{ trigger }}</td></tr>
<tr><td style="padding-right: 12px;">When</td><td>{{ at | date: "%Y-%m-%d %H:%M:%S" }} UTC</td></tr>
</table>
<p>Error:</p>
<pre style="white-space: pre-wrap;">{{ error }}</pre>
<p><a href="{{ url }}">The instance's backups</a></p>
<p style="color: #7b8794; font-size: 12px;">You receive this as an owner or admin of {{ organization }} on Marina.</p>`),
    text: `{{ title }}: {{ instance }}

Instance:    {{ instance }}
What failed: {{ what }}
{% if destination != "" %}Destination: {{ destination }}
{% endif %}Started by:  {{ trigger }}
When:        {{ at | date: "%Y-%m-%d %H:%M:%S" }} UTC

Error:
{{ error }}

The instance's backups: {{ url }}

-- 
You receive this as an owner or admin of {{ organization }} on Marina.
`,
  },
  alert_firing: {
    subject: '[Marina] {% if repeat %}Still firing{% else %}Alert{% endif %}: {{ title }}: {{ instance }}',
    html: page(`
<p><strong>{{ title }}</strong>: {{ instance }} ({{ organization }}){% if repeat %}, still{% endif %}.</p>
<table style="border-collapse: collapse;">
<tr><td style="padding-right: 12px;">What</td><td>{{ summary }}</td></tr>
<tr><td style="padding-right: 12px;">Since</td><td>{{ started_at ${AT} }} UTC</td></tr>
<tr><td style="padding-right: 12px;">What to do</td><td>{{ advice }}</td></tr>
</table>
${button('url', 'Open in Marina')}`),
    text: `{{ title }}: {{ instance }} ({{ organization }}){% if repeat %}, still{% endif %}.

What:       {{ summary }}
Since:      {{ started_at ${AT} }} UTC
What to do: {{ advice }}

Open in Marina: {{ url }}
`,
  },
  alert_resolved: {
    subject: '[Marina] Resolved: {{ title }}: {{ instance }}',
    html: page(`
<p><strong>Resolved</strong>: {{ title }}: {{ instance }} ({{ organization }}).</p>
<p>From {{ started_at ${AT} }} to {{ resolved_at ${AT} }} UTC ({{ minutes }} min).</p>
${button('url', 'Open in Marina')}`),
    text: `Resolved: {{ title }}: {{ instance }} ({{ organization }}).

From {{ started_at ${AT} }} to {{ resolved_at ${AT} }} UTC ({{ minutes }} min).

Open in Marina: {{ url }}
`,
  },
  alert_test: {
    subject: '[Marina] Test alert for {{ organization }}',
    html: page(`
<p>This is a test of an alert channel of <strong>{{ organization }}</strong>: alerts will arrive here.</p>
<p><a href="{{ url }}">{{ url }}</a></p>`),
    text: `This is a test of an alert channel of {{ organization }}: alerts will arrive here.

{{ url }}
`,
  },
  invoice_issued: {
    subject: '[Marina] {{ organization }}: invoice {{ number }} ({{ total }})',
    html: page(`
<p>Invoice <strong>{{ number }}</strong> of {{ total }} was issued to <strong>{{ organization }}</strong>.</p>
<p>It is due on {{ due_at | date: "%Y-%m-%d" }}.</p>
${button('url', 'Pay or download it')}`),
    text: `Invoice {{ number }} of {{ total }} was issued to {{ organization }}.
It is due on {{ due_at | date: "%Y-%m-%d" }}.

Pay or download it: {{ url }}
`,
  },
  payment_received: {
    subject: '[Marina] {{ organization }}: {{ number }} paid, thank you',
    html: page(`
<p>We received {{ total }} for invoice <strong>{{ number }}</strong> of <strong>{{ organization }}</strong> ({{ via }}). Thank you.</p>
${button('url', 'See your invoices')}`),
    text: `We received {{ total }} for invoice {{ number }} of {{ organization }} ({{ via }}). Thank you.

See your invoices: {{ url }}
`,
  },
  payment_reminder: {
    subject: '[Marina] {{ organization }}: invoice {{ number }} is overdue',
    html: page(`
<p>Invoice <strong>{{ number }}</strong> of {{ total }} for <strong>{{ organization }}</strong> was due on {{ due_at | date: "%Y-%m-%d" }} and is not paid yet.</p>
<p>Unless it is paid, the organization is suspended on {{ suspend_at ${AT} }} UTC: its instances stop until it is paid.</p>
${button('url', 'Pay now')}`),
    text: `Invoice {{ number }} of {{ total }} for {{ organization }} was due on {{ due_at | date: "%Y-%m-%d" }} and is not paid yet.
Unless it is paid, the organization is suspended on {{ suspend_at ${AT} }} UTC: its instances stop until it is paid.

Pay now: {{ url }}
`,
  },
};
