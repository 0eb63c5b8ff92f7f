import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll } from 'vitest';
import { as, type Browser, type TestApp } from '../../../test/helpers/app.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../../../test/helpers/docker.js';
import { withClient } from '../../adapters/postgres/admin.js';

/**
 * The mail catcher and outgoing mail against the real parts: Docker, the stand-in Odoo's real
 * PostgreSQL database (it has Odoo's ir_mail_server), a real SMTP client (nodemailer, and Python's
 * smtplib inside the instance's own container) talking to the catcher over TCP.
 */
const namespace = testNamespace();
export let t: TestApp;
export let admin: Browser;
export let dataDir: string;
export let staging: { id: string; dbName: string };
export let catcherPort: number;
export let baseUrl: string;
export let headers: Record<string, string>;

export const KEEP = 4;

export interface MailServerRow {
  name: string;
  smtp_host: string;
  smtp_port: number;
  smtp_user: string | null;
  smtp_pass: string | null;
  smtp_encryption: string;
  active: boolean;
}

export async function odooMailServers(instanceId: string): Promise<MailServerRow[]> {
  const instance = await t.services.instances.row(instanceId);
  const connection = await t.services.databaseServers.forInstance(instance);
  return withClient(connection, instance.db_name, async (db) => {
    const { rows } = await db.query<MailServerRow>(
      'SELECT name, smtp_host, smtp_port, smtp_user, smtp_pass, smtp_encryption, active FROM ir_mail_server ORDER BY id',
    );
    return rows;
  });
}

export async function odooParameter(instanceId: string, key: string): Promise<string | null> {
  const instance = await t.services.instances.row(instanceId);
  const connection = await t.services.databaseServers.forInstance(instance);
  return withClient(connection, instance.db_name, async (db) => {
    const { rows } = await db.query<{ value: string }>('SELECT value FROM ir_config_parameter WHERE key = $1', [key]);
    return rows[0]?.value ?? null;
  });
}

export function client(auth?: { user: string; pass: string }) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: catcherPort,
    secure: false,
    ignoreTLS: true,
    ...(auth ? { auth } : {}),
  });
}

export async function credentialsOf(instanceId: string) {
  const login = await t.services.mailServers.catcherCredentials(instanceId);
  return { user: login.user, pass: login.password };
}

export const inbox = (who: Browser, instanceId: string, query = '') =>
  as(t, who)('GET', `/api/v1/instances/${instanceId}/mails${query}`);

/** One Marina with the catcher and a staging instance per test file (the bindings above are live). */
export function setUpMailWorld(): void {
  beforeAll(async () => {
    await requireDocker();
    dataDir = await mkdtemp(join(tmpdir(), 'marina-mail-'));
    const marina = await startDockerMarina(namespace, {
      MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
      MARINA_DATA_DIR: dataDir,
      MARINA_MAIL_CATCHER_PORT: '0',
      MARINA_MAIL_CATCHER_MAX_MB: '1',
      MARINA_MAIL_CATCHER_KEEP: String(KEEP),
      MARINA_MAIL_CATCHER_KEEP_MB: '2',
    });
    ({ t, admin, baseUrl, headers } = marina);
    catcherPort = t.services.mailCatcher?.port() ?? 0;
    const { instance } = await provisionInstance(marina, { project: 'mailing' });
    staging = instance;
  }, 240_000);

  afterAll(async () => {
    await t?.close();
    await removeNamespace(namespace);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
}
