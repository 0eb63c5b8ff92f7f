import { ChartIcon, TerminalIcon } from '../icons';
import { formatCount } from './model';

export type LogTab = 'log' | 'requests';

/** Log / Requests tabs; `idPrefix` ties each tab to the panel the viewer renders below. */
export function LogViewTabs({
  tab,
  onChange,
  idPrefix,
  requestCount,
}: {
  tab: LogTab;
  onChange(tab: LogTab): void;
  idPrefix: string;
  requestCount: number;
}) {
  return (
    <div className="log-tabs" role="tablist" aria-label="Log views">
      <button
        type="button"
        role="tab"
        id={`${idPrefix}-tab-log`}
        aria-selected={tab === 'log'}
        aria-controls={`${idPrefix}-panel`}
        className={tab === 'log' ? 'log-tab active' : 'log-tab'}
        onClick={() => onChange('log')}
      >
        <TerminalIcon width={15} height={15} />
        Log
      </button>
      <button
        type="button"
        role="tab"
        id={`${idPrefix}-tab-requests`}
        aria-selected={tab === 'requests'}
        aria-controls={`${idPrefix}-panel`}
        className={tab === 'requests' ? 'log-tab active' : 'log-tab'}
        onClick={() => onChange('requests')}
      >
        <ChartIcon width={15} height={15} />
        Requests
        <span className="log-tab-count">{formatCount(requestCount)}</span>
      </button>
    </div>
  );
}
