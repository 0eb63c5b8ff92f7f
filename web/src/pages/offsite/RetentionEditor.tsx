import { useEffect, useRef, useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { limits } from '../../api/limits';
import type { Destination, RetentionPolicy, RetentionPreview } from '../../api/types';
import { formatDate, formatShortTime } from '../../format';
import { formatBytes } from '../../operate';
import { formatLabel, kindLabel } from '../backups/parts';
import {
  type Draft,
  destinationPolicy,
  type PolicyDraft,
  type PolicyKey,
  policyHint,
  policyKeys,
  policyLabel,
  policyOf,
} from './schedule-form';

interface Preview {
  loading: boolean;
  result?: RetentionPreview;
  error?: unknown;
}

const LOCAL = 'local';
const DEBOUNCE_MS = 350;

/**
 * What each policy would keep and delete, asked from the server as the policy is edited: the very
 * plan the clean-up runs. Keyed by "local" or a destination id.
 */
function useRetentionPreviews(
  instanceId: string,
  scopes: { key: string; policy: RetentionPolicy; destinationId: string | null }[],
  timeZone: string,
): Record<string, Preview> {
  const [previews, setPreviews] = useState<Record<string, Preview>>({});
  const generation = useRef(0);
  const signature = JSON.stringify({ scopes, timeZone });
  const scopesRef = useRef(scopes);
  scopesRef.current = scopes;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the signature stands for the scopes and the zone.
  useEffect(() => {
    const mine = ++generation.current;
    setPreviews((all) => {
      const next: Record<string, Preview> = {};
      for (const s of scopesRef.current) next[s.key] = { ...all[s.key], loading: true };
      return next;
    });
    const timer = window.setTimeout(() => {
      for (const scope of scopesRef.current) {
        call(
          api.POST('/api/v1/retention/preview', {
            body: { instanceId, policy: scope.policy, destinationId: scope.destinationId, timeZone },
          }),
        ).then(
          (result) => {
            if (mine === generation.current)
              setPreviews((all) => ({ ...all, [scope.key]: { loading: false, result } }));
          },
          (error: unknown) => {
            if (mine === generation.current) setPreviews((all) => ({ ...all, [scope.key]: { loading: false, error } }));
          },
        );
      }
    }, DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [instanceId, signature]);

  return previews;
}

function Effect({ preview }: { preview: Preview | undefined }) {
  if (!preview || (preview.loading && !preview.result && !preview.error)) return <span className="muted">…</span>;
  if (preview.error) return <span className="effect-error">{errorMessage(preview.error)}</span>;
  const result = preview.result;
  if (!result) return null;
  const keeps = result.keep.length;
  const deletes = result.delete.length;
  if (keeps + deletes === 0)
    return (
      <span className="muted" data-testid="retention-effect">
        no scheduled backups yet
      </span>
    );
  return (
    <span
      className={`retention-effect${preview.loading ? ' effect-stale' : ''}`}
      data-testid="retention-effect"
      data-keep={keeps}
      data-delete={deletes}
    >
      keeps <strong>{keeps}</strong>, deletes{' '}
      <strong className={deletes > 0 ? 'effect-deletes' : undefined}>{deletes}</strong>
    </span>
  );
}

function PolicyInputs({
  label,
  value,
  disabled,
  onChange,
}: {
  label: string;
  value: PolicyDraft;
  disabled?: boolean;
  onChange(key: PolicyKey, value: string): void;
}) {
  return (
    <>
      {policyKeys.map((key) => (
        <td key={key}>
          <input
            type="number"
            className="policy-input"
            min={limits.retentionKeep.min}
            max={limits.retentionKeep.max}
            step={1}
            inputMode="numeric"
            aria-label={`${label}: ${policyLabel[key].toLowerCase()}`}
            title={policyHint[key]}
            disabled={disabled}
            value={value[key]}
            onChange={(e) => onChange(key, e.target.value)}
          />
        </td>
      ))}
    </>
  );
}

/** The retention part of the schedule form: one row for this server, one per chosen destination. */
export function RetentionEditor({
  instanceId,
  draft,
  destinations,
  onChange,
}: {
  instanceId: string;
  draft: Draft;
  destinations: Destination[];
  onChange(patch: Partial<Draft>): void;
}) {
  const chosen = draft.destinationIds
    .map((id) => destinations.find((d) => d.id === id))
    .filter((d): d is Destination => d !== undefined);
  const scopes = [
    { key: LOCAL, policy: policyOf(draft.local), destinationId: null },
    ...chosen.map((d) => ({ key: d.id, policy: destinationPolicy(draft, d.id), destinationId: d.id })),
  ];
  const previews = useRetentionPreviews(instanceId, scopes, draft.timeZone);
  const deletions = scopes
    .map((s) => ({
      key: s.key,
      where: s.key === LOCAL ? 'on this server' : `at ${chosen.find((d) => d.id === s.key)?.name ?? '?'}`,
      backups: previews[s.key]?.result?.delete ?? [],
    }))
    .filter((d) => d.backups.length > 0);

  return (
    <div className="retention-editor">
      <div className="table-wrap">
        <table className="table table-compact retention-table" aria-label="Retention">
          <thead>
            <tr>
              <th scope="col">Where</th>
              {policyKeys.map((key) => (
                <th key={key} scope="col" title={policyHint[key]}>
                  {policyLabel[key]}
                </th>
              ))}
              <th scope="col">Effect now</th>
            </tr>
          </thead>
          <tbody>
            <tr data-scope="local">
              <th scope="row">This server</th>
              <PolicyInputs
                label="This server"
                value={draft.local}
                onChange={(key, value) => onChange({ local: { ...draft.local, [key]: value } })}
              />
              <td>
                <Effect preview={previews[LOCAL]} />
              </td>
            </tr>
            {chosen.map((d) => {
              const own = draft.own[d.id];
              return (
                <tr key={d.id} data-scope={d.id}>
                  <th scope="row">
                    <span className="stacked-time">
                      <span>{d.name}</span>
                      <label className="same-as">
                        <input
                          type="checkbox"
                          checked={!own}
                          onChange={(e) => {
                            const { [d.id]: _, ...rest } = draft.own;
                            onChange({ own: e.target.checked ? rest : { ...rest, [d.id]: { ...draft.local } } });
                          }}
                        />
                        same as this server
                      </label>
                    </span>
                  </th>
                  <PolicyInputs
                    label={d.name}
                    value={own ?? draft.local}
                    disabled={!own}
                    onChange={(key, value) =>
                      own ? onChange({ own: { ...draft.own, [d.id]: { ...own, [key]: value } } }) : undefined
                    }
                  />
                  <td>
                    <Effect preview={previews[d.id]} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p className="field-hint">
        Applied after each scheduled backup (or with “Clean up now”) to the scheduled backups only: manual backups,
        safety backups and pinned ones are always kept. A file on this server stays until its offsite copies are
        verified.
      </p>
      {deletions.length > 0 ? (
        <div className="retention-deletes" data-testid="retention-deletes">
          {deletions.map((d) => (
            <div key={d.key}>
              <p className="retention-deletes-title">
                With this policy the next clean-up deletes {d.backups.length}{' '}
                {d.backups.length === 1 ? 'backup' : 'backups'} {d.where}:
              </p>
              <ul>
                {d.backups.map((b) => (
                  <li key={b.id}>
                    <span className="tabular">
                      {formatDate(b.createdAt)} {formatShortTime(b.createdAt)}
                    </span>
                    <span className="muted deleted-meta">
                      {kindLabel[b.kind]} · {formatLabel[b.format]} · {formatBytes(b.sizeBytes)}
                    </span>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </div>
      ) : null}
    </div>
  );
}
