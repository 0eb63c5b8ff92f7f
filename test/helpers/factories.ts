import { expect } from 'vitest';
import { type Browser, memberBrowser, type TestApp } from './app.js';

/** A POST as someone signed in (see `as` and `withToken`): all the factories need. */
export type Call = (
  method: 'POST',
  url: string,
  payload?: unknown,
) => Promise<{ statusCode: number; body: string; json<T>(): T }>;

export interface Organization {
  id: string;
  slug: string;
  name: string;
}

export interface Project {
  id: string;
  name: string;
  odooVersion: string;
  organizationId: string;
}

/** Creates an organization through the API (as a platform admin) and fails the test if refused. */
export async function makeOrganization(
  call: Call,
  fields: { slug?: string; name?: string } = {},
): Promise<Organization> {
  const slug = fields.slug ?? 'acme';
  const made = await call('POST', '/api/v1/organizations', { slug, name: fields.name ?? slug.toUpperCase() });
  expect(made.statusCode, made.body).toBe(201);
  return made.json<{ organization: Organization }>().organization;
}

/** Creates a project in an organization (by slug) through the API. */
export async function makeProject(
  call: Call,
  fields: { organization?: string; name?: string; odooVersion?: string } = {},
): Promise<Project> {
  const made = await call('POST', '/api/v1/projects', {
    organization: fields.organization ?? 'acme',
    name: fields.name ?? 'erp',
    odooVersion: fields.odooVersion ?? '17.0',
  });
  expect(made.statusCode, made.body).toBe(201);
  return made.json<{ project: Project }>().project;
}

/**
 * An organization with its own admin, invited and signed in the way a real one is: the stranger
 * every isolation test plays.
 */
export async function makeOrganizationWithAdmin(
  t: TestApp,
  platformAdmin: Browser,
  fields: { slug: string; name?: string; email?: string; role?: 'owner' | 'admin' | 'developer' | 'viewer' | 'member' },
): Promise<{ organization: Organization; admin: Browser }> {
  const { as } = await import('./app.js');
  const organization = await makeOrganization(as(t, platformAdmin), fields);
  const admin = await memberBrowser(
    t,
    platformAdmin,
    fields.slug,
    fields.email ?? `admin@${fields.slug}.test`,
    fields.role ?? 'admin',
  );
  return { organization, admin };
}

export interface InstanceRequest {
  project: string;
  name?: string;
  stage?: 'production' | 'staging' | 'development';
  memoryMb?: number;
  cpus?: number;
  adminLogin?: string;
}

/** Asks for a new instance; the provisioning job runs on its own (follow it with followJob). */
export async function requestInstance(
  call: Call,
  fields: InstanceRequest,
): Promise<{ instance: { id: string; name: string }; job: { id: string }; credentials: { password: string } }> {
  const made = await call('POST', '/api/v1/instances', {
    project: fields.project,
    name: fields.name ?? 'main',
    stage: fields.stage ?? 'staging',
    memoryMb: fields.memoryMb ?? 768,
    ...(fields.cpus === undefined ? {} : { cpus: fields.cpus }),
    adminLogin: fields.adminLogin ?? 'o@acme.test',
  });
  expect(made.statusCode, made.body).toBe(202);
  return made.json<{
    instance: { id: string; name: string };
    job: { id: string };
    credentials: { password: string };
  }>();
}
