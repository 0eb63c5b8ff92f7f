import { useCallback, useState } from 'react';
import { isoToLocalInput, localToIso, type TimePreset, timePresets } from './logQuery';
import type { LogRange } from './useLogStream';

export interface TimeRangeChoice {
  preset: TimePreset;
  /** null: the live tail. */
  range: LogRange | null;
  /** The custom range's inputs, as typed (datetime-local values). */
  customFrom: string;
  customTo: string;
  choosePreset(id: TimePreset): void;
  changeCustom(from: string, to: string): void;
}

/** The time range the viewer shows: a preset counted back from now, or a custom from/to. */
export function useTimeRange(): TimeRangeChoice {
  const [preset, setPreset] = useState<TimePreset>('live');
  const [range, setRange] = useState<LogRange | null>(null);
  const [customFrom, setCustomFrom] = useState('');
  const [customTo, setCustomTo] = useState('');

  const choosePreset = useCallback((id: TimePreset) => {
    setPreset(id);
    if (id === 'live') {
      setRange(null);
      return;
    }
    if (id === 'custom') {
      // A custom range starts as the last hour, open-ended, for the user to narrow.
      const hourAgo = new Date(Date.now() - 3_600_000);
      setCustomFrom(isoToLocalInput(hourAgo));
      setCustomTo('');
      setRange({ since: hourAgo.toISOString(), until: null });
      return;
    }
    const minutes = timePresets.find((p) => p.id === id)?.minutes ?? 60;
    setRange({ since: new Date(Date.now() - minutes * 60_000).toISOString(), until: null });
  }, []);

  const changeCustom = useCallback((from: string, to: string) => {
    setCustomFrom(from);
    setCustomTo(to);
    setRange({ since: localToIso(from), until: localToIso(to) });
  }, []);

  return { preset, range, customFrom, customTo, choosePreset, changeCustom };
}
