import type { Destination } from '../../api/types';
import { Badge } from '../../components/Badge';
import { formatDateTime } from '../../format';

/** A destination's health, from its last connection test (on saving it, or "Test connection"). */
export function HealthBadge({ health }: { health: Destination['health'] }) {
  const when = health.testedAt ? `Last tested ${formatDateTime(health.testedAt)}` : 'Never tested';
  const title = health.error ? `${when}: ${health.error}` : when;
  return (
    <span data-testid="destination-health" data-health={health.status} title={title}>
      {health.status === 'ok' ? (
        <Badge tone="green">healthy</Badge>
      ) : health.status === 'failed' ? (
        <Badge tone="red">test failed</Badge>
      ) : (
        <Badge tone="gray">not tested</Badge>
      )}
    </span>
  );
}
