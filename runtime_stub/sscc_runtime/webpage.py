"""The page of `run --ui`: one HTML document, its style and script inline (no CDN, no build step;
the machine running a pipeline may be offline). The script loads the graph (/graph.svg) and the
model (/api/model) once, then follows /api/events (server-sent events) and writes the numbers
into the graph's nodes and the tables. docs/ui.md shows it.
"""

PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{NAME}} · sscc</title>
<style>
  body { font: 14px/1.4 system-ui, Helvetica, Arial, sans-serif; margin: 0; color: #202124; background: #f8f9fa; }
  header { background: #1a73e8; color: white; padding: 10px 18px; display: flex; gap: 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .status { font-weight: bold; }
  main { padding: 12px 18px; display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
  section { background: white; border: 1px solid #dadce0; border-radius: 8px; padding: 10px 14px; overflow: auto; }
  section.wide { grid-column: 1 / span 2; }
  h2 { font-size: 15px; margin: 2px 0 8px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  #graph svg { max-width: 100%; height: auto; }
  #graph .stats { fill: #1a73e8; font-weight: bold; }
  .dead { color: #c5221f; }
  .muted { color: #5f6368; }
  textarea { width: 100%; font-family: ui-monospace, monospace; font-size: 13px; }
  .error { color: #c5221f; white-space: pre-wrap; }
  code { font-family: ui-monospace, monospace; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>{{NAME}}</h1>
  <span class="status" id="status">connecting…</span>
  <span id="totals"></span>
  <span class="muted" style="color:#e8f0fe" id="updated"></span>
</header>
<main>
  <section class="wide"><h2>Operator graph</h2><div id="graph">loading…</div></section>
  <section class="wide"><h2>Services</h2>
    <table id="services"><thead><tr><th>service</th><th class="n">in</th><th class="n">out</th><th class="n">dead</th>
      <th class="n">in/s</th><th class="n">out/s</th><th class="n">dead/s</th><th class="n">lag</th><th class="n">batches</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide"><h2>Operators (one stage = one wasm call per batch)</h2>
    <table id="stages"><thead><tr><th>service</th><th>stage</th><th>where</th><th class="n">in</th><th class="n">out</th><th class="n">dead</th>
      <th class="n">in/s</th><th class="n">out/s</th><th class="n">dead/s</th></tr></thead><tbody></tbody></table>
  </section>
  <section><h2>Lag per partition</h2>
    <table id="lag"><thead><tr><th>service</th><th>topic</th><th class="n">partition</th><th class="n">stored</th><th class="n">read</th><th class="n">lag</th></tr></thead><tbody></tbody></table>
  </section>
  <section><h2>Dead letters by operator</h2>
    <table id="deadops"><thead><tr><th>service</th><th>stage</th><th>operator</th><th class="n">records</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide"><h2>Latest dead letters</h2>
    <table id="deadletters"><thead><tr><th>service</th><th>operator</th><th>kind</th><th>reason</th><th>from</th><th>value</th></tr></thead><tbody></tbody></table>
  </section>
  <section><h2>State</h2>
    <div><select id="state-name"></select> key <input id="state-key" size="12"> <button id="state-show">show</button> <span class="muted" id="state-sizes"></span></div>
    <div id="state-out"></div>
  </section>
  <section><h2>SQL over the state tables (read-only)</h2>
    <textarea id="sql-query" rows="3" placeholder="select * from count_per_word order by count desc limit 10"></textarea>
    <div><button id="sql-run">run</button></div>
    <div id="sql-out"></div>
  </section>
</main>
<script>
"use strict";
const fmt = n => (n === null || n === undefined) ? "–" : Math.round(n).toLocaleString("en-US");
const rate = n => (n === undefined) ? "0" : (n >= 100 ? Math.round(n).toLocaleString("en-US") : (Math.round(n * 10) / 10).toString());
const esc = s => String(s === null || s === undefined ? "" : s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
let model = null;

function cell(v, cls) { return `<td${cls ? ` class="${cls}"` : ""}>${v}</td>`; }
function fill(id, rows) { document.querySelector(`#${id} tbody`).innerHTML = rows.join(""); }
function table(columns, rows) {
  return `<table><thead><tr>${columns.map(c => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>` +
    rows.map(r => `<tr>${r.map(v => `<td>${esc(v === null ? "null" : v)}</td>`).join("")}</tr>`).join("") +
    `</tbody></table><div class="muted">${rows.length} row${rows.length === 1 ? "" : "s"}</div>`;
}

function statsText(group, text) {
  // the last line of a node's label is the placeholder the numbers go into
  if (!group) return;
  const texts = group.querySelectorAll("text");
  if (!texts.length) return;
  const last = texts[texts.length - 1];
  last.textContent = text;
  last.classList.add("stats");
}

function render(ev) {
  const c = ev.counters;
  document.getElementById("status").textContent = ev.finished ? `stopped (${ev.finished})` : "running";
  document.getElementById("updated").textContent = "updated " + new Date(ev.time * 1000).toLocaleTimeString();
  let tin = 0, tout = 0, tdead = 0;
  const services = [], stages = [], deadops = [];
  for (const svc of model.services) {
    const s = c.services[svc.name];
    if (!s) continue;
    tin += s.in; tout += s.out; tdead += s.dead;
    services.push(`<tr data-service="${esc(svc.name)}">${cell(esc(svc.name))}${cell(fmt(s.in), "n in")}${cell(fmt(s.out), "n out")}${cell(fmt(s.dead), "n dead")}` +
      `${cell(rate(s.rate.in), "n")}${cell(rate(s.rate.out), "n")}${cell(rate(s.rate.dead), "n")}${cell(fmt(s.lag), "n lag")}${cell(fmt(s.batches), "n")}</tr>`);
    statsText(document.getElementById("service:" + svc.id), `${svc.name}: in ${rate(s.rate.in)}/s · out ${rate(s.rate.out)}/s · dead ${rate(s.rate.dead)}/s · lag ${fmt(s.lag)}`);
    for (const st of svc.stages) {
      const t = c.stages[st.id] || {in: 0, out: 0, dead: 0, rate: [0, 0, 0]};
      stages.push(`<tr data-stage="${st.id}">${cell(esc(svc.name))}${cell(esc(st.name))}${cell(esc(st.place))}${cell(fmt(t.in), "n in")}${cell(fmt(t.out), "n out")}${cell(fmt(t.dead), "n dead")}` +
        `${cell(rate(t.rate[0]), "n")}${cell(rate(t.rate[1]), "n")}${cell(rate(t.rate[2]), "n")}</tr>`);
      statsText(document.getElementById("stage:" + st.id), `in ${rate(t.rate[0])}/s · out ${rate(t.rate[1])}/s · dead ${rate(t.rate[2])}/s (${fmt(t.in)} in)`);
    }
    for (const d of s.dead_by_operator) deadops.push(`<tr>${cell(esc(svc.name))}${cell(esc(d.stage))}${cell(esc(d.operator))}${cell(fmt(d.count), "n")}</tr>`);
  }
  document.getElementById("totals").textContent = `in ${fmt(tin)} · out ${fmt(tout)} · dead ${fmt(tdead)}`;
  fill("services", services); fill("stages", stages); fill("deadops", deadops);
  fill("lag", ev.lag.map(r => `<tr>${cell(esc(r.service))}${cell(esc(r.topic))}${cell(r.partition, "n")}${cell(fmt(r.end), "n")}${cell(fmt(r.position), "n")}${cell(fmt(r.lag), "n lag")}</tr>`));
  fill("deadletters", ev.dead_letters.map(d => `<tr>${cell(esc(d.service))}${cell(esc(d.operator))}${cell(esc(d.kind))}${cell(`<span class="dead">${esc(d.reason)}</span>`)}` +
    `${cell(`<code>${esc(d.topic)}[${esc(d.partition)}]@${esc(d.offset)}</code>`)}${cell(`<code>${esc(d.value !== undefined ? d.value : d.value_base64)}</code>`)}</tr>`));
}

async function loadStates() {
  const sizes = await (await fetch("/api/states")).json();
  const select = document.getElementById("state-name");
  const chosen = select.value;
  select.innerHTML = sizes.map(s => `<option value="${esc(s.service + "." + s.state)}">${esc(s.service + "." + s.state)}</option>`).join("");
  if (chosen) select.value = chosen;
  document.getElementById("state-sizes").textContent = sizes.map(s => `${s.state}: ${fmt(s.keys)} keys`).join(" · ");
}

async function showState() {
  const name = document.getElementById("state-name").value, key = document.getElementById("state-key").value;
  const out = document.getElementById("state-out");
  if (!name) { out.innerHTML = `<div class="muted">no state in the store yet</div>`; return; }
  const r = await fetch(`/api/state?name=${encodeURIComponent(name)}&key=${encodeURIComponent(key)}`);
  const body = await r.json();
  out.innerHTML = body.error ? `<div class="error">${esc(body.error)}</div>` : table(body.columns, body.rows);
}

async function runSql() {
  const q = document.getElementById("sql-query").value;
  const r = await fetch(`/api/sql?q=${encodeURIComponent(q)}`);
  const body = await r.json();
  document.getElementById("sql-out").innerHTML = body.error ? `<div class="error">${esc(body.error)}</div>` : table(body.columns, body.rows);
}

async function start() {
  model = await (await fetch("/api/model")).json();
  document.getElementById("graph").innerHTML = await (await fetch("/graph.svg")).text();
  document.getElementById("state-show").onclick = showState;
  document.getElementById("sql-run").onclick = runSql;
  loadStates(); setInterval(loadStates, 5000);
  const source = new EventSource("/api/events");
  source.onmessage = e => { const ev = JSON.parse(e.data); render(ev); document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1); if (ev.finished) source.close(); };
  source.onerror = () => { document.getElementById("status").textContent = "disconnected (the run has stopped?)"; };
}
start();
</script>
</body>
</html>
"""
