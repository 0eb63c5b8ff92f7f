import { describe, expect, it } from 'vitest';
import { as } from '../../../test/helpers/app.js';
import { docker } from '../../../test/helpers/docker.js';
import { makeProject, requestInstance } from '../../../test/helpers/factories.js';
import { followJob } from '../../../test/helpers/jobs.js';
import { withClient } from '../../adapters/postgres/admin.js';
import { systemContext } from '../../platform/context.js';
import { SecretBox } from '../../platform/secrets/secret-box.js';
import { dockerBridgeAddress } from './catcher.js';
import { MailServerService } from './mail-server.js';
import {
  admin,
  baseUrl,
  catcherPort,
  credentialsOf,
  headers,
  inbox,
  odooMailServers,
  odooParameter,
  setUpMailWorld,
  staging,
  t,
} from './mail-test-support.js';

setUpMailWorld();

describe('outgoing mail of an instance', { timeout: 120_000 }, () => {
  it('a new staging instance sends to the catcher: one active server "Marina" with its own login', async () => {
    const got = await as(t, admin)('GET', `/api/v1/instances/${staging.id}/mail-server`);
    expect(got.statusCode, got.body).toBe(200);
    expect(got.json().mailServer).toMatchObject({ mode: 'catcher', configured: true, catcherAvailable: true });
    const servers = await odooMailServers(staging.id);
    const active = servers.filter((s) => s.active);
    expect(active).toHaveLength(1);
    const login = await credentialsOf(staging.id);
    expect(active[0]).toMatchObject({
      name: 'Marina',
      smtp_host: dockerBridgeAddress(),
      smtp_port: catcherPort,
      smtp_encryption: 'none',
      smtp_user: login.user,
      smtp_pass: login.pass,
    });
  });

  it("mail sent from inside the instance's container with what Odoo holds lands in its inbox", async () => {
    const [server] = (await odooMailServers(staging.id)).filter((s) => s.active);
    if (!server) throw new Error('no active server');
    const instance = await t.services.instances.row(staging.id);
    // What Odoo does (smtplib, login, sendmail), from the instance's own network.
    const script = [
      'import smtplib, sys',
      's = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=20)',
      's.login(sys.argv[3], sys.argv[4])',
      's.sendmail("odoo@example.com", ["customer@example.org"], "Subject: From the container\\r\\nFrom: odoo@example.com\\r\\nTo: customer@example.org\\r\\n\\r\\nHello from Odoo.\\r\\n")',
      's.quit()',
      'print("sent")',
    ].join('\n');
    const exec = await docker.getContainer(instance.container_name).exec({
      Cmd: [
        'python3',
        '-c',
        script,
        server.smtp_host,
        String(server.smtp_port),
        server.smtp_user ?? '',
        server.smtp_pass ?? '',
      ],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({});
    const output = await new Promise<string>((resolve) => {
      let text = '';
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      stream.on('end', () => resolve(text));
    });
    expect(output).toContain('sent');
    const listed = await inbox(admin, staging.id);
    expect(listed.statusCode).toBe(200);
    expect(listed.json().mails[0]).toMatchObject({
      subject: 'From the container',
      envelopeFrom: 'odoo@example.com',
      envelopeTo: ['customer@example.org'],
    });
  });

  it('an admin chooses their own server: checked like every tenant address, written into Odoo, password write-only', async () => {
    const put = (body: unknown) => as(t, admin)('PUT', `/api/v1/instances/${staging.id}/mail-server`, body);
    const internal = await put({
      mode: 'own',
      own: { host: '10.20.30.40', port: 587, security: 'starttls', username: 'u', password: 'p' },
    });
    expect(internal.statusCode).toBe(400);
    expect(internal.json().error.code).toBe('MARINA_E_OUTBOUND_REFUSED');

    // An earlier server someone set up in Odoo is deactivated, not deleted.
    const instance = await t.services.instances.row(staging.id);
    await withClient(await t.services.databaseServers.forInstance(instance), instance.db_name, (db) =>
      db.query(
        "INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, active) VALUES ('Old relay', 'old.example.com', 25, 'none', true)",
      ),
    );
    const own = await put({
      mode: 'own',
      own: { host: '8.8.8.8', port: 465, security: 'tls', username: 'mailer', password: 'own secret 1' },
    });
    expect(own.statusCode, own.body).toBe(200);
    expect(own.body).not.toContain('own secret 1');
    expect(own.json().mailServer).toMatchObject({
      mode: 'own',
      own: { host: '8.8.8.8', port: 465, security: 'tls', username: 'mailer', passwordSet: true },
    });
    const servers = await odooMailServers(staging.id);
    expect(servers.filter((s) => s.active)).toEqual([
      expect.objectContaining({
        name: 'Marina',
        smtp_host: '8.8.8.8',
        smtp_port: 465,
        smtp_encryption: 'ssl',
        smtp_user: 'mailer',
        smtp_pass: 'own secret 1',
      }),
    ]);
    expect(servers.find((s) => s.name === 'Old relay')?.active).toBe(false);
    // Stored sealed, never in the clear.
    const row = await t.db
      .selectFrom('instance_mail_servers')
      .selectAll()
      .where('id', '=', staging.id)
      .executeTakeFirst();
    expect(row?.own_password).not.toContain('own secret 1');
    const audit = await t.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', '=', 'instance.set_mail_server')
      .execute();
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(audit)).not.toContain('own secret 1');

    // Without a platform relay, "platform" is refused; with one, Odoo gets it.
    const noRelay = await put({ mode: 'platform' });
    expect(noRelay.statusCode).toBe(409);
    expect(noRelay.json().error.code).toBe('MARINA_E_SMTP_NOT_CONFIGURED');
    await t.services.settings.setSmtp(systemContext('test'), {
      host: 'relay.example.net',
      port: 587,
      security: 'starttls',
      username: 'platform',
      password: 'relay secret',
      from: 'Marina <marina@example.net>',
    });
    expect((await put({ mode: 'platform' })).statusCode).toBe(200);
    expect((await odooMailServers(staging.id)).filter((s) => s.active)).toEqual([
      expect.objectContaining({
        name: 'Marina',
        smtp_host: 'relay.example.net',
        smtp_port: 587,
        smtp_user: 'platform',
      }),
    ]);

    // And back to the catcher, with the same login as before.
    const back = await put({ mode: 'catcher' });
    expect(back.statusCode).toBe(200);
    const login = await credentialsOf(staging.id);
    expect((await odooMailServers(staging.id)).filter((s) => s.active)).toEqual([
      expect.objectContaining({ name: 'Marina', smtp_port: catcherPort, smtp_user: login.user, smtp_pass: login.pass }),
    ]);
    // Without the edge there is no host name: Odoo's mail domain is left alone.
    expect(await odooParameter(staging.id, 'mail.catchall.domain')).toBeNull();
  });

  it("with the edge on, Odoo's mail domain follows the instance's primary host name", async () => {
    const s = t.services;
    // The same service as Marina's, as it is built when MARINA_BASE_DOMAIN is set.
    const withEdge = new MailServerService({
      db: t.db,
      clock: t.clock,
      audit: s.audit,
      box: SecretBox.fromPassphrase('marina test secret key'),
      instances: s.instances,
      databaseServers: s.databaseServers,
      settings: s.settings,
      guard: s.outbound.guard,
      catcher: s.mailCatcher,
      edge: true,
    });
    await t.db
      .updateTable('instances')
      .set({ hostname: 'shop-erp-acme.apps.test' })
      .where('id', '=', staging.id)
      .execute();
    try {
      await withEdge.apply(staging.id);
      expect(await odooParameter(staging.id, 'mail.catchall.domain')).toBe('shop-erp-acme.apps.test');
      expect(await odooParameter(staging.id, 'mail.default.from')).toBe('notifications@shop-erp-acme.apps.test');
      await t.db
        .updateTable('instances')
        .set({ primary_hostname: 'erp.customer.test' })
        .where('id', '=', staging.id)
        .execute();
      await withEdge.apply(staging.id);
      expect(await odooParameter(staging.id, 'mail.catchall.domain')).toBe('erp.customer.test');
      expect(await odooParameter(staging.id, 'mail.default.from')).toBe('notifications@erp.customer.test');
    } finally {
      await t.db
        .updateTable('instances')
        .set({ hostname: null, primary_hostname: null })
        .where('id', '=', staging.id)
        .execute();
    }
  });

  it('production cannot use the catcher, and is not given it by default', async () => {
    const project = await makeProject(as(t, admin), { name: 'prod-mail' });
    const created = await requestInstance(as(t, admin), { project: project.id, stage: 'production', name: 'prod' });
    const got = await as(t, admin)('GET', `/api/v1/instances/${created.instance.id}/mail-server`);
    expect(got.json().mailServer).toMatchObject({ mode: 'platform', configured: false, catcherAvailable: false });
    const refused = await as(t, admin)('PUT', `/api/v1/instances/${created.instance.id}/mail-server`, {
      mode: 'catcher',
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('MARINA_E_MAIL_CATCHER_PRODUCTION');
  });
});

describe('a copy of an instance', { timeout: 240_000 }, () => {
  it("a neutralized development clone sends to the catcher with its own login, not its source's", async () => {
    const source = await t.services.instances.row(staging.id);
    const cloned = await as(t, admin)('POST', `/api/v1/instances/${staging.id}/clone`, {
      newInstance: {
        project: source.project_id,
        name: 'copy',
        stage: 'development',
        memoryMb: 768,
        adminLogin: 'dev@acme.test',
      },
    });
    expect(cloned.statusCode, cloned.body).toBe(202);
    const followed = await followJob(baseUrl, headers, cloned.json().job.id, 200_000);
    expect(followed.job.error).toBeNull();
    const copyId = cloned.json().instance.id as string;
    const copyLogin = await credentialsOf(copyId);
    const sourceLogin = await credentialsOf(staging.id);
    expect(copyLogin.user).not.toBe(sourceLogin.user);
    // The copy's database came with its source's "Marina" row: it now holds the copy's own login.
    expect((await odooMailServers(copyId)).filter((s) => s.active)).toEqual([
      expect.objectContaining({
        name: 'Marina',
        smtp_port: catcherPort,
        smtp_user: copyLogin.user,
        smtp_pass: copyLogin.pass,
      }),
    ]);
    expect(followed.logs.join('\n')).toContain('Outgoing mail: set as chosen for the instance.');
  });
});
