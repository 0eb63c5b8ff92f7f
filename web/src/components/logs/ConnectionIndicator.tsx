import type { StreamState } from './useLogStream';

/** The live stream's state as the user sees it; `paused` is the viewer's, not the stream's. */
export type Connection = StreamState | 'paused';

const connectionLook: Record<Connection, { text: string; title: string }> = {
  connecting: { text: 'Connecting…', title: 'Opening the live stream' },
  live: { text: 'Live', title: 'New lines appear as Odoo writes them' },
  reconnecting: { text: 'Reconnecting…', title: 'The stream was interrupted; reconnecting' },
  paused: { text: 'Paused', title: 'New lines are kept but not shown; resume to see them' },
  off: { text: 'Disconnected', title: 'Not following the log; turn Stream on (S) to follow it' },
};

export function ConnectionIndicator({ state }: { state: Connection }) {
  const look = connectionLook[state];
  return (
    <span className={`log-conn log-conn-${state}`} role="status" title={look.title} data-testid="log-connection">
      <span className="log-conn-dot" aria-hidden="true" />
      {look.text}
    </span>
  );
}
