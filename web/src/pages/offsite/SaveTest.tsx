import { ApiError } from '../../api/errors';
import type { DestinationTest } from '../../api/types';
import { ProbeReport } from './parts';

/**
 * A destination is tested before it is saved. When the test fails the server refuses the save and
 * answers the steps it tried: this turns that answer back into a test result to show.
 */
export function failedTestOf(error: unknown): DestinationTest | null {
  if (!(error instanceof ApiError) || error.code !== 'MARINA_E_STORAGE') return null;
  const steps = error.details.steps;
  if (!Array.isArray(steps)) return null;
  const reason = typeof error.details.reason === 'string' ? error.details.reason : 'unknown';
  return {
    ok: false,
    steps: steps as DestinationTest['steps'],
    error: { reason, message: error.message },
    hostKeyFingerprint: null,
    pinned: false,
  };
}

/** The failed test of a save, with the way out: fix a field, or "Save anyway" (kept marked unhealthy). */
export function SaveTestFailure({
  test,
  busy,
  onSaveAnyway,
}: {
  test: DestinationTest;
  busy: boolean;
  onSaveAnyway(): void;
}) {
  return (
    <div className="save-test" data-testid="save-test-failed">
      <p className="save-test-title">
        <strong>Not saved: the connection test failed.</strong> Fix the fields below and save again, or save it anyway —
        it is then marked unhealthy, and schedules that copy there warn about it.
      </p>
      <ProbeReport result={test} />
      <button type="button" className="btn btn-secondary btn-small" onClick={onSaveAnyway} disabled={busy}>
        Save anyway
      </button>
    </div>
  );
}
