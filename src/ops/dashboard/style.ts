// The page's stylesheet: one constant served as /app.css by the live dashboard and inlined into the static
// HTML report, so both look the same. No external fonts or images: the page must open offline.
export const DASHBOARD_CSS = String.raw`
:root { --bg:#f4f6f9; --card:#fff; --ink:#1c2430; --muted:#5f6b7a; --line:#e3e7ee; --accent:#1a73e8;
  --ok:#188038; --warn:#e37400; --bad:#c5221f; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display:flex; align-items:center; gap:16px; padding:14px 24px; background:#202938; color:#fff; }
header h1 { font-size:18px; margin:0; font-weight:600; letter-spacing:.2px; }
header .table { font-family:var(--mono); color:#c9d4e3; }
header .spacer { flex:1; }
header .meta { color:#c9d4e3; font-size:12px; text-align:right; }
.live { display:inline-flex; align-items:center; gap:6px; font-size:12px; padding:3px 10px; border-radius:12px; background:#2d3a4f; }
.live::before { content:""; width:8px; height:8px; border-radius:50%; background:#9aa5b4; }
.live.on::before { background:#34c759; } .live.off::before { background:var(--bad); }
main { padding:18px 24px 32px; max-width:1500px; margin:0 auto; }
.kpis { display:grid; grid-template-columns:repeat(auto-fill, minmax(210px, 1fr)); gap:12px; margin-bottom:14px; }
.kpi, .card { background:var(--card); border:1px solid var(--line); border-radius:8px; box-shadow:0 1px 2px rgba(20,30,50,.04); }
.kpi { padding:12px 14px; }
.kpi .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.4px; }
.kpi .value { font-size:24px; font-weight:600; margin-top:2px; font-variant-numeric:tabular-nums; }
.kpi .sub { color:var(--muted); font-size:12px; margin-top:2px; }
.kpi.bad .value { color:var(--bad); } .kpi.warn .value { color:var(--warn); } .kpi.ok .value { color:var(--ok); }
.bar { height:6px; background:var(--line); border-radius:3px; margin-top:8px; overflow:hidden; }
.bar > div { height:100%; background:var(--accent); }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(460px, 1fr)); gap:14px; margin-bottom:14px; }
.card { padding:12px 14px; min-width:0; }
.card h2 { font-size:14px; margin:0 0 8px; font-weight:600; }
.card h2 .note { color:var(--muted); font-weight:400; font-size:12px; margin-left:6px; }
.chart { min-height:230px; }
.empty { color:var(--muted); font-style:italic; padding:8px 0; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:500; font-size:12px; }
td.num, th.num { text-align:right; white-space:nowrap; }
td.key { font-family:var(--mono); font-size:12px; word-break:break-all; }
td.msg { color:#3b4656; word-break:break-word; }
.tag { display:inline-block; padding:1px 7px; border-radius:10px; font-size:11px; background:#eef2f8; color:#33415a; }
.tag.bad { background:#fce8e6; color:var(--bad); } .tag.warn { background:#fef3e0; color:#a35200; }
.banner { background:#fce8e6; color:var(--bad); border:1px solid #f5c2bd; padding:8px 12px; border-radius:6px; margin-bottom:12px; display:none; }
.banner.show { display:block; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:8px 0 20px; }
`;
