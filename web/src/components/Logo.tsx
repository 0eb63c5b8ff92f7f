/** Marina's mark: two sails over a wave. */
export function LogoMark({ size = 32, onDark = false }: { size?: number; onDark?: boolean }) {
  return (
    <svg viewBox="0 0 32 32" width={size} height={size} aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="8" fill={onDark ? 'rgba(255,255,255,0.14)' : '#0e5a6f'} />
      <path d="M16 5 L16 20 L7 20 Z" fill="#ffffff" />
      <path d="M18 9 L18 20 L25 20 Z" fill="#8fd3df" />
      <path d="M5 24 q3.5 -3 7 0 t7 0 t7 0" fill="none" stroke="#ffffff" strokeWidth="2" strokeLinecap="round" />
    </svg>
  );
}

export function Wordmark({ inverted = false }: { inverted?: boolean }) {
  return (
    <span className={inverted ? 'wordmark wordmark-inverted' : 'wordmark'}>
      <LogoMark onDark={inverted} />
      <span className="wordmark-text">Marina</span>
    </span>
  );
}
