import { expect, vi } from 'vitest';
import { type EdgeResponse, edgeRequest } from './edge-client.js';
import type { EdgeStack } from './edge-stack.js';

/**
 * The first visit of `https://<hostname>/web/login` through the stack's edge: Odoo's login page on a
 * certificate for that name that Pebble issued on demand, in exactly one new order. `context` says
 * what the processes logged when it fails.
 */
export async function expectLoginOnPebbleCertificate(
  stack: EdgeStack,
  hostname: string,
  context: () => string,
): Promise<EdgeResponse> {
  const ordersBefore = stack.pebbleOrderCount();
  const response = await edgeRequest(stack, { hostname, path: '/web/login', timeoutMs: 30_000 });
  expect(response.status, context()).toBe(200);
  expect(response.body).toContain('oe_login_form');
  expect(response.certificate?.subjectaltname).toBe(`DNS:${hostname}`);
  expect(response.certificate?.issuer.CN).toMatch(/^Pebble Intermediate CA /);
  expect(response.authorizationError).toBeNull();
  expect(response.authorized).toBe(true);
  // Counted from Pebble's log, read from its pipe a moment after the handshake may have ended.
  await vi.waitFor(() => expect(stack.pebbleOrderCount()).toBe(ordersBefore + 1), { timeout: 10_000, interval: 100 });
  return response;
}
