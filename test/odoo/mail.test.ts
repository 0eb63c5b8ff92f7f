import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as } from '../helpers/app.js';
import { docker, requireDocker, TEST_IMAGES } from '../helpers/docker.js';
import { type MailMarina, startMailMarina } from '../helpers/mail-marina.js';
import { odooSource } from '../helpers/odoo.js';
import { execIn } from './odoo-session.js';

/**
 * REAL Odoo 17 (ODOO_SOURCE) on a staging instance sends a message with its own mail code
 * (ir.mail_server.send_email, the outgoing server Marina wrote): it lands in Marina's mail catcher.
 */
const source = odooSource();

/** Run in `odoo shell`: build and send one message the way Odoo's mail queue does. */
const SEND = `
server = env['ir.mail_server']
message = server.build_email('sales@acme.test', ['jane@customer.test'], 'Sent by real Odoo 17', 'Hello from Odoo.', subtype='plain')
server.send_email(message)
env.cr.commit()
print('ODOO-SENT')
`;

describe.skipIf(!source)('real Odoo 17: a staging instance sends to the mail catcher', () => {
  let marina: MailMarina;

  beforeAll(async () => {
    await requireDocker();
    await docker.getImage(TEST_IMAGES.runtime).inspect();
    marina = await startMailMarina(
      { MARINA_ODOO_17_IMAGE: TEST_IMAGES.runtime, MARINA_ODOO_17_SOURCE: source ?? '' },
      { provisionTimeoutMs: 300_000 },
    );
  }, 360_000);

  afterAll(async () => {
    await marina?.close();
  });

  it('Odoo sends through the server Marina wrote, and the message is in the inbox', async () => {
    const { t, admin, instance } = marina;
    const row = await t.services.instances.row(instance.id);
    const output = await execIn(row.container_name, [
      'sh',
      '-c',
      'printf "%s" "$1" | odoo shell -c /etc/odoo/odoo.conf -d "$2" --no-http --log-level=warn',
      'send-mail',
      SEND,
      row.db_name,
    ]);
    expect(output).toContain('ODOO-SENT');
    const inbox = await as(t, admin)('GET', `/api/v1/instances/${instance.id}/mails`);
    expect(inbox.statusCode).toBe(200);
    expect(inbox.json().mails[0]).toMatchObject({
      subject: 'Sent by real Odoo 17',
      envelopeTo: ['jane@customer.test'],
    });
  }, 180_000);
});
