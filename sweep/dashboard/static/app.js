// hpsweep dashboard: polls the overview, redraws what changed; all data come aggregated from the server.
"use strict";

const STATUS_COLORS = { ok: "#2563eb", stopped: "#d97706", diverged: "#dc2626", failed: "#6b7280" };
const BLOCKS = ["d_hx", "d_hh", "d_hy", "d_yx", "d_yh", "d_yy"];
const PLOT_CONFIG = { displaylogo: false, responsive: true };
const state = { version: null, refresh: 2000, sweep: null, task: null, sort: { col: "score", asc: false }, top: null };

const $ = (id) => document.getElementById(id);
// plotly.js (4.8 MB) is fetched once the counts are on the page: they never wait for it, the plots do
let plotlyLoading = null;
function plotlyReady() {
  if (!plotlyLoading) {
    plotlyLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/static/plotly.min.js";
      script.onload = () => resolve();
      script.onerror = () => { plotlyLoading = null; reject(new Error("Error: could not load plotly.js from the dashboard server; the page retries")); };
      document.head.appendChild(script);
    });
  }
  return plotlyLoading;
}
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmt = (v, d = 3) => (v === null || v === undefined ? "–" : typeof v === "number" ? (Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(d)) : esc(v));

async function getJSON(url) {
  let response;
  try {
    response = await fetch(url, { cache: "no-store" });
  } catch (e) {
    throw new Error("Error: the dashboard server does not answer (stopped?); the page retries");
  }
  let body;
  try { body = await response.json(); } catch (e) { throw new Error(`Error: the server answered ${response.status} without data`); }
  if (body.error) throw new Error(body.error);
  return body;
}

function banner(message) {
  const el = $("banner");
  el.hidden = !message;
  el.textContent = message || "";
}

function duration(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return "< 1 min";
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

// ---------------------------------------------------------------- overview
function renderSweeps(o) {
  $("root").textContent = o.results;
  const anyStopped = o.sweeps.some((s) => s.stopped > 0);
  document.querySelectorAll(".stopped-col").forEach((el) => (el.hidden = !anyStopped));
  const rows = o.sweeps.map((s) => {
    const p = Math.max(s.planned, 1);
    const bar = ["ok", "stopped", "diverged", "failed"].map((k) => `<span class="${k}" style="width:${(100 * s[k]) / p}%"></span>`).join("");
    const done = s.planned - s.missing;
    const best = s.best ? `${fmt(s.best.score, 4)} <span class="pct">${esc(s.best.score_name || "")} · ${esc(s.best.task)}</span>` : "–";
    const cell = (k) => `<td data-sweep="${esc(s.sweep)}" data-col="${k}">${fmt(s[k])}</td>`;
    const running = s.running ? `<span class="running">${esc(s.running === "run" ? "running" : s.running)}</span>` : "";
    const tasks = s.tasks.map((t) => {
      const active = s.sweep === state.sweep && t.task === state.task ? " active" : "";
      return `<button class="task-link${active}" data-sweep="${esc(s.sweep)}" data-task="${esc(t.task)}" title="${t.rows} trials; best ${fmt(t.best, 4)}">${esc(t.task)}</button>`;
    }).join("");
    return `<tr><td class="left"><b>${esc(s.sweep)}</b>${running}</td>
      <td class="left"><div style="display:flex;align-items:center"><div class="bar">${bar}</div><span class="pct">${Math.floor((100 * done) / p)}%</span></div></td>
      ${cell("planned")}${cell("ok")}${cell("diverged")}${cell("failed")}<td class="stopped-col" data-sweep="${esc(s.sweep)}" data-col="stopped" ${anyStopped ? "" : "hidden"}>${fmt(s.stopped)}</td>${cell("missing")}
      <td>${s.rate === null ? "–" : s.rate.toFixed(2)}</td><td>${s.running ? duration(s.eta_s) : "–"}</td><td class="left">${best}</td></tr>
      <tr class="tasks"><td colspan="11">${tasks || '<span class="hint">no trials committed yet</span>'}</td></tr>`;
  });
  document.querySelector("#sweeps tbody").innerHTML = rows.join("");
  document.querySelectorAll(".task-link").forEach((b) => b.addEventListener("click", () => openTask(b.dataset.sweep, b.dataset.task)));
}

function renderVerdict(analysis, results) {
  const el = $("verdict");
  if (!analysis) {
    el.innerHTML = `<p class="hint">No analysis of the results as they are now. Run <code>hpsweep analyze ${esc(results)}</code>
      (after the sweep finishes) to see how well the meta-models pick configs on held-out tasks, and to recommend.</p>`;
    return;
  }
  const cards = analysis.items.map((i) => `<div class="card"><div class="label">${esc(i.label)}</div><div class="value">${esc(i.value)}</div><div class="cnote">${esc(i.note)}</div></div>`).join("");
  el.innerHTML = `<p class="verdict-headline">${esc(analysis.headline)}</p><div class="cards">${cards}</div>`;
}

async function poll() {
  try {
    const o = await getJSON("/api/overview");
    state.refresh = 1000 * (o.refresh_s || 2);
    banner(null);
    renderSweeps(o);
    renderVerdict(o.analysis, o.results);
    const live = $("live");
    live.className = "live on";
    live.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
    setTimeout(() => plotlyReady().catch(() => {}), 0);
    if (o.version !== state.version) {
      state.version = o.version;
      if (state.task) await loadTask();
    }
  } catch (e) {
    banner(e.message);
    $("live").className = "live off";
    $("live").textContent = "not updating";
  } finally {
    setTimeout(poll, state.refresh);
  }
}

// ---------------------------------------------------------------- one task
function openTask(sweep, task) {
  state.sweep = sweep;
  state.task = task;
  history.replaceState(null, "", `#sweep=${encodeURIComponent(sweep)}&task=${encodeURIComponent(task)}`);
  document.querySelectorAll(".task-link").forEach((b) => b.classList.toggle("active", b.dataset.sweep === sweep && b.dataset.task === task));
  loadTask();
  $("task-section").scrollIntoView({ behavior: "smooth" });
}

async function loadTask() {
  const section = $("task-section");
  try {
    const v = await getJSON(`/api/task?sweep=${encodeURIComponent(state.sweep)}&task=${encodeURIComponent(state.task)}`);
    await plotlyReady();
    section.hidden = false;
    $("task-title").innerHTML = `${esc(v.task)} <small>sweep ${esc(v.sweep)}</small>`;
    const c = v.counts;
    $("task-summary").textContent = `${v.rows.toLocaleString("en-US")} trial rows: ${c.ok} ok, ${c.diverged} diverged, ${c.failed} failed` +
      (c.stopped ? `, ${c.stopped} stopped` : "") + `. Score: ${v.score_name} (higher is better).`;
    drawHP(v);
    drawCurves(v);
    drawDensity(v);
    state.top = v.top;
    drawTop();
    // parallel coordinates are WebGL: slow to set up without a GPU, so drawn after the rest is on screen
    $("parcoords-plot").dataset.drawn = "";
    setTimeout(() => { drawParcoords(v); $("parcoords-plot").dataset.drawn = "1"; }, 30);
  } catch (e) {
    banner(e.message);
  }
}

function drawHP(v) {
  const hp = v.hp;
  const layout = { margin: { t: 10, r: 10, b: 45, l: 55 }, xaxis: { title: { text: "hidden proportion (n_hh / total weights)" }, range: [-0.02, 1.02] },
    yaxis: { title: { text: `test ${v.score_name}` } }, legend: { orientation: "h", y: 1.08 }, uirevision: v.task, hovermode: "closest" };
  let traces;
  if (hp.kind === "histogram") {
    traces = [{ type: "heatmap", x: hp.x, y: hp.y, z: hp.z, colorscale: "Blues", hoverongaps: false, colorbar: { title: { text: "trials" } } }];
    $("hp-note").textContent = `${hp.n.toLocaleString("en-US")} trials, binned on the server (too many for one point each).`;
  } else {
    const type = hp.webgl ? "scattergl" : "scatter";
    const statuses = [...new Set(hp.status)];
    traces = statuses.map((s) => {
      const idx = hp.status.map((t, i) => (t === s ? i : -1)).filter((i) => i >= 0);
      return { type, mode: "markers", name: s, x: idx.map((i) => hp.x[i]), y: idx.map((i) => hp.y[i]),
        customdata: idx.map((i) => [hp.trial_id[i], hp.hidden[i], hp.lr[i], hp.seed[i]]),
        hovertemplate: "HP %{x:.3f}<br>score %{y:.4f}<br>|h| %{customdata[1]} · lr %{customdata[2]} · seed %{customdata[3]}<extra>%{customdata[0]}</extra>",
        marker: { size: hp.n > 2000 ? 4 : 7, opacity: hp.n > 2000 ? 0.5 : 0.75, color: STATUS_COLORS[s] || "#888" } };
    });
    const unscored = v.unscored ? ` ${v.unscored} trial(s) without a test score (diverged or failed) are not drawn.` : "";
    $("hp-note").textContent = `${hp.n.toLocaleString("en-US")} points, one per scored trial.${unscored}`;
  }
  $("hp-plot").dataset.points = hp.kind === "points" ? hp.n : 0;
  Plotly.react("hp-plot", traces, layout, PLOT_CONFIG);
}

function drawCurves(v) {
  const b = v.curves.band;
  const traces = [
    { x: b.epoch, y: b.p90, mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false },
    { x: b.epoch, y: b.p10, mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(100,116,139,0.18)", name: "10%..90%", hoverinfo: "skip" },
    { x: b.epoch, y: b.median, mode: "lines", name: "median", line: { dash: "dash", color: "#475569" } },
    ...v.curves.lines.map((l) => ({ x: l.epoch, y: l.val_score, mode: "lines+markers", name: l.label, marker: { size: 4 }, line: { width: 1.5 }, showlegend: false,
      hovertemplate: `${esc(l.label)}<br>epoch %{x}: %{y:.4f}<extra></extra>` })),
  ];
  Plotly.react("curves-plot", traces, { margin: { t: 10, r: 10, b: 45, l: 55 }, xaxis: { title: { text: "epoch" }, dtick: b.epoch.length > 12 ? undefined : 1 },
    yaxis: { title: { text: `validation ${v.score_name}` } }, legend: { orientation: "h", y: 1.1 }, uirevision: v.task }, PLOT_CONFIG);
}

function drawDensity(v) {
  const traces = [];
  const layout = { margin: { t: 24, r: 10, b: 40, l: 55 }, showlegend: false, uirevision: v.task,
    grid: { rows: 2, columns: 3, pattern: "independent", ygap: 0.32, xgap: 0.12 }, annotations: [] };
  BLOCKS.forEach((blk, k) => {
    const d = v.density[blk];
    const ax = k === 0 ? "" : String(k + 1);
    traces.push({ x: d.d, y: d.p90, mode: "lines", line: { width: 0 }, xaxis: `x${ax}`, yaxis: `y${ax}`, hoverinfo: "skip" });
    traces.push({ x: d.d, y: d.p10, mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(37,99,235,0.15)", xaxis: `x${ax}`, yaxis: `y${ax}`, hoverinfo: "skip" });
    traces.push({ x: d.d, y: d.median, customdata: d.n, mode: "lines+markers", line: { color: "#2563eb" }, marker: { size: 5 }, xaxis: `x${ax}`, yaxis: `y${ax}`,
      hovertemplate: `${blk} ≈ %{x:.2f}: median %{y:.4f} (%{customdata} trials)<extra></extra>` });
    layout[`xaxis${ax}`] = { range: [0, 1.02], title: { text: `density of W_${blk.slice(2)}`, standoff: 2 }, tickfont: { size: 10 } };
    layout[`yaxis${ax}`] = { tickfont: { size: 10 }, title: k % 3 === 0 ? { text: `test ${v.score_name}` } : undefined };
  });
  Plotly.react("density-plot", traces, layout, PLOT_CONFIG);
}

function drawParcoords(v) {
  const p = v.parcoords;
  if (!p.n) { Plotly.purge("parcoords-plot"); $("parcoords-note").textContent = "No scored trials yet."; return; }
  const dims = BLOCKS.map((b) => ({ label: `W_${b.slice(2)}`, values: p[b], range: [0, 1] }));
  dims.push({ label: "score", values: p.test_score });
  Plotly.react("parcoords-plot", [{ type: "parcoords", dimensions: dims,
    line: { color: p.test_score, colorscale: "Viridis", showscale: false } }],
    { margin: { t: 50, r: 40, b: 20, l: 40 }, uirevision: v.task }, PLOT_CONFIG);
  $("parcoords-note").textContent = p.n === p.of ? `Every scored trial (${p.n}); colour: score (yellow best); drag along an axis to filter.` :
    `The best ${Math.floor(p.n / 2)} trials and a sample of the rest: ${p.n} of ${p.of.toLocaleString("en-US")}; colour: score (yellow best); drag along an axis to filter.`;
}

const TOP_HEADERS = { d_hx: "W_hx", d_hh: "W_hh", d_hy: "W_hy", d_yx: "W_yx", d_yh: "W_yh", d_yy: "W_yy", hidden: "|h|", hp: "HP",
  weights: "weights", lr: "lr", score: "score", sd: "sd", seeds: "seeds" };

function drawTop() {
  const t = state.top;
  const ci = t.columns.indexOf(state.sort.col);
  const rows = [...t.rows];
  if (ci >= 0) rows.sort((a, b) => ((a[ci] ?? -Infinity) < (b[ci] ?? -Infinity) ? -1 : (a[ci] ?? -Infinity) > (b[ci] ?? -Infinity) ? 1 : 0) * (state.sort.asc ? 1 : -1));
  const head = t.columns.map((c) => `<th data-col="${c}" class="${c === state.sort.col ? "sorted" + (state.sort.asc ? " asc" : "") : ""}">${TOP_HEADERS[c] || c}</th>`).join("");
  const digits = { hp: 3, score: 4, sd: 4, weights: 0 };
  const body = rows.map((r) => "<tr>" + r.map((v, i) => {
    const c = t.columns[i];
    if (c === "lr") return `<td>${v === null ? "–" : Number(v).toPrecision(2)}</td>`;
    if (c === "weights") return `<td>${v === null ? "–" : Math.round(v).toLocaleString("en-US")}</td>`;
    if (c.startsWith("d_")) return `<td>${v === null ? "–" : Number(v).toFixed(2)}</td>`;
    return `<td>${v === null ? "–" : c === "hidden" ? v : Number(v).toFixed(digits[c] ?? 3)}</td>`;
  }).join("") + "</tr>").join("");
  $("top-configs").innerHTML = `<thead><tr>${head}</tr></thead><tbody>${body}</tbody>`;
  document.querySelectorAll("#top-configs th").forEach((th) => th.addEventListener("click", () => {
    state.sort = { col: th.dataset.col, asc: state.sort.col === th.dataset.col ? !state.sort.asc : false };
    drawTop();
  }));
}

// ---------------------------------------------------------------- recommend
$("recommend-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = new URLSearchParams({ x: $("rec-x").value, y: $("rec-y").value, budget: $("rec-budget").value, kind: $("rec-kind").value });
  const err = $("recommend-error");
  const out = $("recommend-result");
  try {
    const r = await getJSON(`/api/recommend?${q}`);
    err.hidden = true;
    const names = { rank: "#", config: "config", hidden: "|h|", hidden_proportion: "HP", predicted: "standing", low: "band low", high: "band high",
      score: "score", score_low: "score low", score_high: "score high" };
    const head = r.columns.map((c) => `<th class="${c === "config" ? "left" : ""}">${names[c] || "W_" + c.slice(2)}</th>`).join("");
    const cellOf = (v, c) => (v === null ? "–" : ["rank", "config", "hidden"].includes(c) ? esc(v) : Number(v).toFixed(c.startsWith("d_") ? 2 : 3));
    const body = r.rows.map((row) => "<tr>" + row.map((v, i) => `<td class="${r.columns[i] === "config" ? "left" : ""}">${cellOf(v, r.columns[i])}</td>`).join("") + "</tr>").join("");
    out.innerHTML = `<p class="hint">|x| ${r.request.input_dim}, |y| ${r.request.output_dim}, budget ${r.request.budget.toLocaleString("en-US")}: ranked by ${esc(r.model)}.
      standing: where the model places the config among the candidates (1 = first); band: 5%..95% of the standing such picks reached on held-out tasks.</p>
      <table class="grid" id="recommend-table"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>
      <p class="hint" id="recommend-verdict">verdict: ${esc(r.verdict)}</p>${r.nearby ? `
      <p class="hint" id="recommend-nearby">${esc(r.nearby)}</p>` : ""}`;
  } catch (e) {
    out.innerHTML = "";
    err.textContent = e.message;
    err.hidden = false;
  }
});

// ---------------------------------------------------------------- start
(function start() {
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get("sweep") && h.get("task")) { state.sweep = h.get("sweep"); state.task = h.get("task"); }
  poll();
})();
