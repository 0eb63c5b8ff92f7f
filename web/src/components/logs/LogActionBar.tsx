import { ArrowDownIcon, DownloadIcon, EraserIcon, PauseIcon, PlayIcon, RadioIcon, RefreshIcon } from '../icons';
import { type Connection, ConnectionIndicator } from './ConnectionIndicator';
import { formatCount } from './model';
import { ShortcutsHelp } from './ShortcutsHelp';

export interface LogActionBarProps {
  streaming: boolean;
  paused: boolean;
  onTogglePause(): void;
  autoScroll: boolean;
  onAutoScroll(on: boolean): void;
  onToggleStream(): void;
  onRefresh(): void;
  onClear(): void;
  /** The container's state when it is not running ("stopped", "missing"…), as the stream says. */
  container: string | null;
  connection: Connection;
  lineCount: number;
  /** Whether a time range is shown: the downloads then hold that range, not the whole log. */
  ranged: boolean;
  downloadHref(format: 'text' | 'jsonl'): string;
  helpId: string;
  helpOpen: boolean;
  onToggleHelp(): void;
  variant: 'page' | 'embedded';
}

/** The viewer's second toolbar: pause, auto-scroll, stream, refresh, clear, state, line count, downloads, help. */
export function LogActionBar(props: LogActionBarProps) {
  const { streaming, paused, autoScroll, ranged, lineCount } = props;
  return (
    <div className="log-toolbar log-toolbar-actions">
      <button
        type="button"
        className="log-btn"
        onClick={props.onTogglePause}
        disabled={!streaming}
        aria-keyshortcuts="p"
        title="Stop adding new lines to the view; they are kept (P)"
      >
        {paused ? <PlayIcon width={15} height={15} /> : <PauseIcon width={15} height={15} />}
        {paused ? 'Resume' : 'Pause'}
      </button>
      <button
        type="button"
        className="log-btn log-toggle"
        aria-pressed={autoScroll}
        onClick={() => props.onAutoScroll(!autoScroll)}
        aria-keyshortcuts="a"
        title="Keep the newest line in view (A)"
      >
        <ArrowDownIcon width={15} height={15} />
        Auto-scroll
      </button>
      <button
        type="button"
        className="log-btn log-toggle"
        aria-pressed={streaming}
        onClick={props.onToggleStream}
        aria-keyshortcuts="s"
        title="Follow the log as it is written (S)"
      >
        <RadioIcon width={15} height={15} />
        Stream
      </button>
      <button
        type="button"
        className="log-btn"
        onClick={props.onRefresh}
        aria-keyshortcuts="r"
        title="Load the log again (R)"
      >
        <RefreshIcon width={15} height={15} />
        Refresh
      </button>
      <button
        type="button"
        className="log-btn"
        onClick={props.onClear}
        aria-keyshortcuts="c"
        title="Clear the view (C)"
      >
        <EraserIcon width={15} height={15} />
        Clear
      </button>
      <span className="log-toolbar-spacer" />
      {props.container ? (
        <span className="log-chip log-chip-warn" data-testid="log-container">
          Container {props.container}
        </span>
      ) : null}
      <ConnectionIndicator state={props.connection} />
      <span className="log-count" data-testid="log-count">
        {formatCount(lineCount)} {lineCount === 1 ? 'line' : 'lines'}
      </span>
      <a
        className="log-btn"
        href={props.downloadHref('text')}
        download
        title={ranged ? 'Download this time range as text' : 'Download the whole log as text'}
      >
        <DownloadIcon width={15} height={15} />
        Download
      </a>
      <a
        className="log-btn"
        href={props.downloadHref('jsonl')}
        download
        title={ranged ? 'Download this time range as JSON lines' : 'Download the whole log as JSON lines'}
      >
        <DownloadIcon width={15} height={15} />
        Download JSONL
      </a>
      <ShortcutsHelp id={props.helpId} open={props.helpOpen} onToggle={props.onToggleHelp} variant={props.variant} />
    </div>
  );
}
