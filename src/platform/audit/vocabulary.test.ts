import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { auditDocsPath, renderAuditDocs } from '../../../scripts/generate-audit-docs.js';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { makeOrganization, makeProject, requestInstance } from '../../../test/helpers/factories.js';
import { up as renameOldActions } from '../../db/migrations/0015_audit_vocabulary.js';
import { MemoryRuntime } from '../../runtime/memory.js';
import { auditActions, auditVocabulary } from './vocabulary.js';

const IMAGE = 'marina-test/odoo-standin';
let t: TestApp;
let admin: Browser;
beforeEach(async () => {
  // The in-memory runtime stands in for Docker: only what the API records is looked at here.
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtauditvocab',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => new MemoryRuntime({ images: [IMAGE] }) },
  );
  admin = await adminBrowser(t);
});
afterEach(() => t.close());

interface Event {
  action: string;
  category: string;
  target: { type: string; id: string; label: string | null } | null;
}

describe('the audit vocabulary', () => {
  it('records a clone as instance.clone (not instance.create), its target named <project>/<instance>', async () => {
    const call = as(t, admin);
    await makeOrganization(call);
    const project = await makeProject(call, { name: 'erp' });
    // The stand-in runs no Odoo, so provisioning fails; once it has, the source is taken as running.
    await t.services.startBackground();
    const source = await requestInstance(call, { project: project.id, name: 'prod', stage: 'production' });
    await vi.waitFor(
      async () => expect((await call('GET', `/api/v1/jobs/${source.job.id}`)).json().job.status).toBe('failed'),
      { timeout: 20_000, interval: 100 },
    );
    // The job shows failed before its undo ends with the instance's own "failed": set running after that.
    await vi.waitFor(async () => expect((await t.services.instances.row(source.instance.id)).status).toBe('failed'), {
      timeout: 20_000,
      interval: 100,
    });
    await t.db.updateTable('instances').set({ status: 'running' }).where('id', '=', source.instance.id).execute();
    const clone = await call('POST', `/api/v1/instances/${source.instance.id}/clone`, {
      newInstance: { project: project.id, name: 'copy', stage: 'staging', adminLogin: 'o@acme.test' },
    });
    expect(clone.statusCode, clone.body).toBe(202);
    const copyId = clone.json().instance.id as string;

    const events = (await call('GET', '/api/v1/audit?limit=200')).json().events as Event[];
    const aboutCopy = events.filter((e) => e.target?.id === copyId).map((e) => e.action);
    expect(aboutCopy).toEqual(['instance.clone']);
    const made = events.find((e) => e.target?.id === source.instance.id);
    expect(made).toMatchObject({
      action: 'instance.create',
      category: 'instance',
      target: { type: 'instance', label: 'erp/prod' },
    });
    // The audit page's filter by action.
    const clones = (await call('GET', '/api/v1/audit?action=instance.clone')).json().events as Event[];
    expect(clones.map((e) => e.target?.label)).toEqual(['erp/copy']);
    expect((await call('GET', '/api/v1/audit?action=instance.nonsense')).statusCode).toBe(400);
  });

  it('every action is <target-type>.<verb>, each event’s category is its target type, and the API lists them', async () => {
    const call = as(t, admin);
    await makeOrganization(call);
    const events = (await call('GET', '/api/v1/audit?limit=200')).json().events as Event[];
    expect(events.length).toBeGreaterThan(1);
    for (const event of events) {
      const [type] = event.action.split('.');
      expect(event.category).toBe(type);
      if (event.target) expect(event.target.type).toBe(type);
    }
    const vocabulary = (await call('GET', '/api/v1/audit/vocabulary')).json();
    expect(vocabulary.targets.map((target: { type: string }) => target.type)).toEqual(Object.keys(auditVocabulary));
    const listed = vocabulary.targets.flatMap((target: { actions: { action: string }[] }) =>
      target.actions.map((a) => a.action),
    );
    expect(listed).toEqual(auditActions().map((a) => a.action));
    for (const action of listed) expect(action).toMatch(/^[a-z][a-z_]*\.[a-z_]+$/);
  });

  it('docs/audit.md is what `npm run gen:audit` writes now, and names every action', () => {
    const doc = readFileSync(auditDocsPath, 'utf8');
    expect(doc).toBe(renderAuditDocs());
    for (const { action } of auditActions()) expect(doc).toContain(`\`${action}\``);
  });

  it('renames the events recorded before the vocabulary (the trail stays append-only)', async () => {
    const old = [
      { action: 'auth.login', category: 'auth', target_type: 'session', target_id: 's1', target_label: 'a@b.c' },
      { action: 'member.update', category: 'member', target_type: 'user', target_id: 'u1', target_label: 'm@b.c' },
      { action: 'token.create', category: 'token', target_type: 'api_token', target_id: 't1', target_label: 'ci' },
      { action: 'backup.restore', category: 'backup', target_type: 'instance', target_id: 'i1', target_label: 'erp/x' },
      {
        action: 'instance.create',
        category: 'instance',
        target_type: 'instance',
        target_id: 'i2',
        target_label: 'erp/copy',
        details: JSON.stringify({ from: 'i1', how: 'instance.clone' }),
      },
      { action: 'retention.run', category: 'retention', target_type: 'platform', target_id: 'op', target_label: 'all' },
      { action: 'settings.smtp.update', category: 'settings', target_type: 'settings', target_id: 'smtp' },
    ];
    await t.db
      .insertInto('audit_events')
      .values(old.map((row) => ({ at: new Date(), actor_label: 'old', details: '{}', ...row })))
      .execute();
    await renameOldActions(t.db as never);
    const rows = await t.db
      .selectFrom('audit_events')
      .select(['action', 'category', 'target_type'])
      .where('actor_label', '=', 'old')
      .orderBy('id')
      .execute();
    expect(rows.map((r) => `${r.action} ${r.category} ${r.target_type}`)).toEqual([
      'session.login session session',
      'member.update member member',
      'token.create token token',
      'instance.restore instance instance',
      'instance.clone instance instance',
      'platform.apply_retention platform platform',
      'settings.update settings settings',
    ]);
    await expect(t.db.deleteFrom('audit_events').execute()).rejects.toThrow(/append-only/);
  });
});
