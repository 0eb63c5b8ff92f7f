import type { Logger } from 'pino';
import { sendMail } from '../../adapters/mail.js';
import type { Invitation, MemberRole } from '../../db/schema.js';
import type { MailRenderer } from '../../platform/notifications.js';
import type { SettingsService } from '../settings/service.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROLS = /[\x00-\x1f\x7f]+/g;

/** One line, no control characters: names end up in a Subject header. */
const oneLine = (text: string, max = 100) => text.replace(CONTROLS, ' ').trim().slice(0, max);

export interface InvitationMailInput {
  url: string;
  organization: string;
  invitedBy: string;
  role: MemberRole;
  expiresAt: Date;
  /** An existing account confirms with its own password (or signs in); a new one chooses one. */
  accountExists: boolean;
  publicUrl: string;
}

export function invitationMail(input: InvitationMailInput): { subject: string; text: string } {
  const organization = oneLine(input.organization);
  const when = input.expiresAt.toISOString().slice(0, 16).replace('T', ' ');
  const how = input.accountExists
    ? [
        'You already have a Marina account: open the link and confirm with your own password,',
        `or sign in at ${input.publicUrl} and accept it from there.`,
      ]
    : ['Open the link to choose your password; your account is created when you accept.'];
  const lines = [
    `${oneLine(input.invitedBy)} invited you to join ${organization} on Marina as ${input.role}.`,
    '',
    ...how,
    '',
    input.url,
    '',
    `The link works once, until ${when} UTC. Nobody else has it: do not forward it.`,
    'If you did not expect this invitation, ignore this email; nothing happens unless you accept.',
  ];
  return { subject: `[Marina] Invitation to join ${organization}`, text: `${lines.join('\n')}\n` };
}

/** The `invitation` template's values (src/modules/notices/catalogue.ts): the same facts as above. */
export function invitationVars(input: InvitationMailInput): Record<string, unknown> {
  return {
    invited_by: oneLine(input.invitedBy),
    organization: oneLine(input.organization),
    role: input.role,
    url: input.url,
    expires_at: input.expiresAt.toISOString(),
    account_exists: input.accountExists,
    portal_url: input.publicUrl,
  };
}

/** Mails an invitation; a failure is logged and returned (the invitation stands without it). */
export async function sendInvitation(
  settings: SettingsService,
  logger: Logger,
  invitation: Invitation,
  input: InvitationMailInput,
  /** The platform admin's editable template; without it, the built-in text. */
  templates?: MailRenderer,
): Promise<{ sent: boolean; error: string | null }> {
  try {
    const smtp = await settings.getSmtpForSending();
    if (!smtp) return { sent: false, error: 'SMTP is not configured.' };
    const mail = templates ? await templates.render('invitation', 'en', invitationVars(input)) : invitationMail(input);
    await sendMail(smtp, { to: [invitation.email], ...mail });
    return { sent: true, error: null };
  } catch (error) {
    // MailError messages are scrubbed of the SMTP password; anything else is reduced to its message.
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    logger.warn(
      { invitation: invitation.id, organizationId: invitation.organization_id, error: message },
      'invitation: the email could not be sent; a platform admin can issue a link',
    );
    return { sent: false, error: message };
  }
}
