import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { ProbeResult, StoreTarget } from '../../adapters/storage/types.js';
import { MarinaError } from '../../platform/errors.js';
import { outboundError } from '../settings/outbound-settings.js';

export type Probe = (target: StoreTarget, guard: OutboundGuard) => Promise<ProbeResult>;

/** A destination's health as stored: the columns its last connection test writes. */
export interface TestOutcome {
  last_tested_at: Date;
  last_test_ok: boolean;
  last_test_error: string | null;
}

export const outcomeOf = (
  result: Pick<ProbeResult, 'ok'> & { error: { message: string } | null },
  at: Date,
): TestOutcome => ({
  last_tested_at: at,
  last_test_ok: result.ok,
  last_test_error: result.ok ? null : (result.error?.message ?? 'The connection test failed.'),
});

/**
 * Saving a destination runs its connection test first (write, read back, delete a probe): a
 * destination nobody could reach is not saved unless asked to ("Save anyway"), and is then kept
 * marked unhealthy. An address the outbound rules refuse is refused whatever was asked.
 */
export async function testBeforeSave(
  guard: OutboundGuard,
  probe: Probe,
  target: StoreTarget,
  saveAnyway: boolean,
): Promise<ProbeResult> {
  let result: ProbeResult;
  try {
    result = await probe(target, guard);
  } catch (error) {
    throw outboundError(error) ?? error;
  }
  if (result.ok || saveAnyway) return result;
  const failed = result.steps.find((s) => !s.ok)?.step ?? 'connect';
  throw new MarinaError(
    'MARINA_E_STORAGE',
    `The connection test failed at "${failed}", so the destination was not saved: ${result.error?.message ?? 'no reason was given.'}`,
    { reason: result.error?.reason ?? 'unknown', steps: result.steps, failedStep: failed },
  );
}
