import { ranges, type SeriesRange } from './api';

/** 24 h / 7 d / 30 d, the chosen one pressed. */
export function RangeButtons({ range, onRange }: { range: SeriesRange; onRange(range: SeriesRange): void }) {
  return (
    <fieldset className="metrics-ranges">
      <legend className="visually-hidden">Time range</legend>
      {ranges.map((r) => (
        <button
          key={r.id}
          type="button"
          className={r.id === range ? 'btn btn-small btn-primary' : 'btn btn-small btn-secondary'}
          aria-pressed={r.id === range}
          onClick={() => onRange(r.id)}
        >
          {r.label}
        </button>
      ))}
    </fieldset>
  );
}
