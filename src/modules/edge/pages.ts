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
