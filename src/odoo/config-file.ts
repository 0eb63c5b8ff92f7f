import type { WorkerSettings } from './sizing.js';
import { type OdooVersion, versionFacts } from './versions.js';

export interface OdooConfInput {
  version: OdooVersion;
  dbName: string;
  dbHost: string;
  dbPort: number;
  dbUser: string;
  dbPassword: string;
  /** Already hashed or plain; Odoo hashes a plain one on first use. Marina stores it encrypted. */
  adminPassword: string;
  addonsPaths: string[];
  dataDir: string;
  workers: WorkerSettings;
  serverWideModules?: string;
  /**
   * Staging and development copies: with every mail server of the database off, Odoo falls back to
   * odoo.conf's SMTP server; point it nowhere (the reserved name Odoo's own neutralization uses).
   */
  blockOutgoingMail?: boolean;
}

/** Odoo reads odoo.conf with configparser: a value must stay on one line and not start a new key. */
function iniValue(key: string, value: string | number | boolean): string {
  const text = String(value);
  if (/[\r\n\0]/.test(text)) throw new Error(`odoo.conf: the value of ${key} must be on one line`);
  return text;
}

/** Reads the [options] of an odoo.conf (as written by Marina or by hand) into a map. */
export function parseOdooConf(text: string): Record<string, string> {
  const options: Record<string, string> = {};
  let inOptions = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      inOptions = section[1] === 'options';
      continue;
    }
    const pair = /^([A-Za-z0-9_]+)\s*[=:]\s*(.*)$/.exec(line);
    if (inOptions && pair?.[1]) options[pair[1]] = pair[2] ?? '';
  }
  return options;
}

/** The regular expression that lets Odoo serve exactly one database and no other. */
export const dbFilterFor = (dbName: string): string => `^${dbName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

/**
 * Renders the odoo.conf of an instance: one database only (db_name + anchored dbfilter), no
 * database manager (list_db = False), a random master password, behind a proxy, no demo data.
 */
export function renderOdooConf(input: OdooConfInput): string {
  const facts = versionFacts(input.version);
  const w = input.workers;
  const options: [string, string | number | boolean][] = [
    ['db_host', input.dbHost],
    ['db_port', input.dbPort],
    ['db_user', input.dbUser],
    ['db_password', input.dbPassword],
    ['db_name', input.dbName],
    ['dbfilter', dbFilterFor(input.dbName)],
    ['list_db', 'False'],
    ['admin_passwd', input.adminPassword],
    ['proxy_mode', 'True'],
    ['data_dir', input.dataDir],
    ['addons_path', input.addonsPaths.join(',')],
    ['without_demo', facts.withoutDemo],
    ['http_port', 8069],
    ['gevent_port', 8072],
    ['workers', w.workers],
    ['max_cron_threads', w.maxCronThreads],
    ['limit_time_cpu', w.limitTimeCpu],
    ['limit_time_real', w.limitTimeReal],
  ];
  if (w.workers > 0) {
    options.push(['limit_memory_soft', w.limitMemorySoft], ['limit_memory_hard', w.limitMemoryHard]);
  }
  if (input.serverWideModules) options.push(['server_wide_modules', input.serverWideModules]);
  if (input.blockOutgoingMail) options.push(['smtp_server', 'invalid'], ['smtp_port', 1025]);
  const lines = options.map(([key, value]) => `${key} = ${iniValue(key, value)}`);
  return `; Written by Marina for database ${input.dbName}. Marina rewrites this file; change the instance instead.\n[options]\n${lines.join('\n')}\n`;
}
