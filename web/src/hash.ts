/** One-time links carry their token in the URL fragment, which browsers never send to servers or proxies. */
export function tokenFromHash(hash: string = window.location.hash): string | null {
  const token = decodeURIComponent(hash.replace(/^#/, '')).trim();
  return token.length > 0 ? token : null;
}
