/** The proxy's own pages: small, self-contained HTML (no asset to fetch from a site that is not there). */

const page = (title: string, text: string) =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${title}</title><style>body{font-family:system-ui,sans-serif;color:#1f2933;background:#f5f7fa;display:flex;min-height:100vh;margin:0;align-items:center;justify-content:center}main{max-width:32rem;padding:2rem;text-align:center}h1{font-size:1.5rem;margin:0 0 .75rem}p{margin:0;color:#52606d;line-height:1.5}</style></head><body><main><h1>${title}</h1><p>${text}</p></main></body></html>`;

/** The public server's answer for a name no instance answers to. */
export const NO_SITE_PAGE = page(
  'No site here',
  'Nothing is published at this address. If you expected a site, check the address, or ask its owner whether the domain is set up.',
);

/** An instance's answer while Odoo does not answer: stopped, restoring, updating or suspended. */
export const MAINTENANCE_PAGE = page(
  'Down for maintenance',
  'This site is being updated or restarted and will be back in a moment. This page tries again by itself.',
).replace('<meta name="robots"', '<meta http-equiv="refresh" content="30"><meta name="robots"');

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/**
 * A suspended organization's sites: why, in general words (never the platform admin's reason, which
 * may say "fraud"), and where the owner signs in to see more. No refresh: it lasts until resumed.
 */
export function suspendedPage(kind: 'trial_ended' | 'suspended', signInUrl: string | undefined): string {
  const title =
    kind === 'trial_ended' ? "This site's trial has ended" : 'This site is suspended by its hosting provider';
  const where = signInUrl
    ? ` Its owner can sign in at <a href="${escapeHtml(signInUrl)}">${escapeHtml(signInUrl)}</a>.`
    : '';
  const text =
    kind === 'trial_ended'
      ? `The site is kept but not served until its owner chooses a plan.${where}`
      : `The site is kept but not served for now.${where}`;
  return page(title, text);
}
