// The console's one stylesheet (served as /console.css, so the CSP allows no inline
// style). Colours are the PDF report's (src/reports/render/pdf/style.ts); text colours meet
// WCAG AA contrast on their backgrounds. A print section drops navigation and forms.
export const CONSOLE_CSS = `
:root { --text:#1a1a1a; --muted:#5f6368; --rule:#c8ccd0; --head:#eef1f4; --zebra:#f7f8f9; --accent:#1f4e79; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--text); background:#fff; }
a { color:var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, main:focus-visible { outline:3px solid #f9a825; outline-offset:2px; }
.skip { position:absolute; left:-9999px; top:0; background:#fff; padding:.5rem; }
.skip:focus { left:.5rem; z-index:10; }
header.top { display:flex; flex-wrap:wrap; align-items:center; gap:1rem 2rem; padding:.6rem 1.5rem; background:var(--accent); color:#fff; }
header.top a { color:#fff; }
.brand { font-weight:700; font-size:1.15rem; text-decoration:none; }
nav ul { list-style:none; display:flex; flex-wrap:wrap; gap:1.2rem; margin:0; padding:0; }
nav a[aria-current="page"] { font-weight:700; text-decoration-thickness:3px; }
.who { margin-left:auto; display:flex; align-items:center; gap:.8rem; }
.who button { background:#fff; color:var(--accent); border:0; border-radius:3px; padding:.25rem .7rem; font:inherit; cursor:pointer; }
main { padding:1rem 1.5rem 2rem; max-width:78rem; }
h1 { font-size:1.6rem; margin:.5rem 0 1rem; }
h2 { font-size:1.2rem; margin:1.8rem 0 .6rem; border-bottom:1px solid var(--rule); padding-bottom:.2rem; }
h3 { font-size:1rem; margin:1.2rem 0 .4rem; }
.muted, caption, .empty { color:var(--muted); }
caption { text-align:left; padding:.3rem 0; font-size:.9rem; }
.table-wrap { overflow-x:auto; }
table { border-collapse:collapse; width:100%; margin:.4rem 0 1rem; font-size:.92rem; }
th, td { text-align:left; padding:.35rem .5rem; border-bottom:1px solid var(--rule); vertical-align:top; }
thead th { background:var(--head); }
tbody tr:nth-child(even) { background:var(--zebra); }
.badge { display:inline-block; padding:0 .45rem; border-radius:3px; font-size:.85rem; font-weight:600; white-space:nowrap; }
.badge-high, .badge-exceptions, .badge-failed, .badge-bad { background:#fdecea; color:#8e1c1c; }
.badge-medium, .badge-incomplete, .badge-partial, .badge-warn { background:#fff3e0; color:#8a3a00; }
.badge-low, .badge-running { background:#e8eef5; color:#1f4e79; }
.badge-effective, .badge-succeeded, .badge-ok { background:#e8f5e9; color:#1b5e20; }
.badge-not-evaluable, .badge-none { background:#eeeeee; color:#424242; }
.notice { background:#e8eef5; border-left:4px solid var(--accent); padding:.5rem .8rem; }
.warning { background:#fff3e0; border-left:4px solid #e65100; padding:.5rem .8rem; }
.error { background:#fdecea; border-left:4px solid #c62828; padding:.5rem .8rem; }
form.filters { display:flex; flex-wrap:wrap; gap:.8rem 1.2rem; align-items:flex-end; margin:.5rem 0 1rem; }
form.filters label, form.stack label { display:flex; flex-direction:column; font-size:.9rem; gap:.2rem; }
form.stack { display:flex; flex-wrap:wrap; gap:.8rem 1.2rem; align-items:flex-end; }
input, select { font:inherit; padding:.3rem .4rem; border:1px solid #767676; border-radius:3px; background:#fff; color:var(--text); }
button, .button { font:inherit; padding:.35rem .9rem; border-radius:3px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; text-decoration:none; display:inline-block; }
.inline { display:inline; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(14rem, 1fr)); gap:.8rem; }
.card { border:1px solid var(--rule); border-radius:4px; padding:.6rem .8rem; }
.side-by-side { display:grid; grid-template-columns:repeat(auto-fit, minmax(24rem, 1fr)); gap:1.5rem; }
.card .figure { font-size:1.6rem; font-weight:700; }
figure.chart { margin:.5rem 0 1rem; }
figure.chart svg { max-width:100%; height:auto; }
figcaption { color:var(--muted); font-size:.88rem; }
pre.raw { background:var(--zebra); border:1px solid var(--rule); padding:.6rem; overflow-x:auto; font-size:.82rem; white-space:pre-wrap; word-break:break-all; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:.2rem 1rem; }
dl.facts dt { font-weight:600; }
dl.facts dd { margin:0; }
footer { color:var(--muted); font-size:.85rem; padding:0 1.5rem 1rem; }
.signin { max-width:36rem; }
@media print {
  header.top nav, .who, form, .skip, footer { display:none !important; }
  header.top { background:none; color:var(--text); padding:0; }
  header.top a { color:var(--text); }
  main { padding:0; max-width:none; }
  a { color:var(--text); text-decoration:none; }
  table { font-size:9pt; }
  tr, figure { break-inside:avoid; }
  h2 { break-after:avoid; }
  .badge { border:1px solid #999; }
}
`;
