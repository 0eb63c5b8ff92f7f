interface ProgressBarProps {
  value: number;
  label: string;
  tone?: 'brand' | 'green' | 'red' | 'amber';
  size?: 'small' | 'large';
  /** Moving stripes while work goes on. */
  active?: boolean;
  testId?: string;
}

export function ProgressBar({ value, label, tone = 'brand', size = 'small', active, testId }: ProgressBarProps) {
  const clamped = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div
      className={`progress progress-${size} progress-${tone}${active ? ' progress-active' : ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={clamped}
      data-testid={testId}
    >
      <div className="progress-fill" style={{ width: `${clamped}%` }} />
    </div>
  );
}
