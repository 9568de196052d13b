// The dashboard page in its two forms: the live one (`ott dashboard`: a shell whose script and styles are
// separate same-origin files, updated by server-sent events) and the static one (`renderStaticHtml`, for
// `ott report --format html`: one self-contained file, the chart library, script, styles and the Overview
// inline, no network, opens offline). Same script, same styles, so the report looks like the dashboard.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { redact } from '../../common/redact.js';
import type { Overview } from '../overview.js';
import { DASHBOARD_JS } from './client.js';
import { DASHBOARD_CSS } from './style.js';

/** uPlot's files, read from the installed package (pinned in package.json), once: no CDN at run time. */
function uplotFiles(): { js: string; css: string } {
  const dist = dirname(createRequire(import.meta.url).resolve('uplot'));
  return { js: readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8'), css: readFileSync(join(dist, 'uPlot.min.css'), 'utf8') };
}
let uplot: { js: string; css: string } | undefined;
export const uplotAssets = (): { js: string; css: string } => (uplot ??= uplotFiles());

/**
 * The live page's policy: only its own origin's script, styles and event stream; no inline script, no
 * frames, no form targets. An S3 key that got into the DOM as markup still could not run.
 */
export const LIVE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function shell(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
${head}
</head>
<body>
<header><h1>ott dashboard</h1><span class="table" id="table-name"></span><span class="spacer"></span>
<span class="meta" id="generated"></span><span class="live" id="live">connecting</span></header>
<main><div class="banner" id="banner" role="alert"></div><div id="app"></div></main>
<footer>object-transfer-tool &middot; read-only view of the state table in MySQL &middot; times in UTC</footer>
${body}
</body>
</html>
`;
}

/** The live page: everything it loads is served by the dashboard itself (server.ts). */
export function renderLivePage(): string {
  return shell(
    'ott dashboard',
    '<link rel="stylesheet" href="uplot.css">\n<link rel="stylesheet" href="app.css">',
    '<script src="uplot.js"></script>\n<script src="app.js"></script>',
  );
}

/**
 * JSON inside a <script type="application/json"> element: `<` is written \u003c so no key or message can
 * close the element (`</script>`) or open a comment; U+2028/2029 escaped for old parsers. JSON.parse
 * reads it back unchanged.
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/**
 * The page as one self-contained file: opens from disk with no network (the policy forbids any fetch),
 * charts drawn from the embedded Overview. Scripts are allowed by hash, so only these two run.
 */
export function renderStaticHtml(overview: Overview): string {
  const u = uplotAssets();
  const scripts = [u.js, DASHBOARD_JS];
  const csp = `default-src 'none'; script-src ${scripts.map(sha256).join(' ')}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  // A literal `</script` inside a script would end its element early (and escaping it would change its hash).
  if (scripts.some((s) => /<\/script/i.test(s))) throw new Error('an inline script of the report holds </script>');
  const inline = (js: string): string => `<script>${js}</script>`;
  return shell(
    `ott report: ${overview.table} at ${new Date(overview.generatedAt).toISOString()}`,
    `<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">\n<style>${u.css}</style>\n<style>${DASHBOARD_CSS}</style>`,
    // Redacted as the live page's JSON is: a ledger message quoting a signed URL loses its signature.
    `<script type="application/json" id="ott-data">${redact(embedJson(overview))}</script>\n${scripts.map(inline).join('\n')}`,
  );
}
