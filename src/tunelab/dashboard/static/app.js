// tunelab dashboard: plain JavaScript over the JSON API (docs/dashboard.md). No build step.
"use strict";

const POLL_MS = 2000;
const PAGE_SIZE = 50;
const MAX_PENDING = 200;  // unfinished rows named in one poll (see fetchTrials)

async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Non-finite floats arrive as "nan", "inf", "-inf" (JSON has no such numbers).
function num(v) {
  if (typeof v === "number") return v;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  if (v === "nan") return NaN;
  return null;
}

function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+(e|$)/, "$1");
  return String(v);
}

function fmtTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

// The best counts feasible trials only (as study.best_value does): when every completed trial
// violates its constraints there is no best, and the page says why instead of leaving a blank.
function bestText(s) {
  if (s.best_values) return s.best_values.map(fmt).join(", ");
  return s.n_infeasible > 0 && s.n_feasible === 0 ? "no feasible trial" : "";
}

// Rows carry `feasible` only when the trial has constraint values.
function feasibleText(row) {
  if (row.feasible === undefined || row.feasible === null) return null;
  return row.feasible ? "yes" : "no";
}

function setStatus(ok) {
  const el = document.getElementById("status");
  if (el) el.textContent = ok ? "live" : "disconnected, retrying";
}

// ---------------------------------------------------------------------------------------
// Study list
// ---------------------------------------------------------------------------------------
async function studiesPage() {
  const body = document.querySelector("#studies tbody");
  async function refresh() {
    try {
      const data = await getJSON("/api/studies");
      body.innerHTML = data.studies.map((s) => {
        const c = s.n_trials_by_state;
        const best = bestText(s);
        return `<tr><td><a href="/studies/${s.study_id}">${esc(s.study_name)}</a></td>
          <td>${esc(s.directions.join(", "))}</td><td>${s.n_trials}</td><td>${c.COMPLETE}</td>
          <td>${c.PRUNED}</td><td>${c.FAIL}</td><td>${c.RUNNING}</td><td>${c.WAITING}</td>
          <td>${esc(best)}</td><td>${esc(fmtTime(s.last_activity))}</td></tr>`;
      }).join("");
      setStatus(true);
    } catch (err) {
      setStatus(false);
    }
  }
  await refresh();
  setInterval(refresh, 3 * POLL_MS);
}

// plotly.js has no time zones: the timeline comes in UTC ("Time (UTC)", shared by every page)
// and is redrawn here in the browser's zone, the zone of every other time on the page.
function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

function localPlotlyDate(utcText) {
  const d = new Date(utcText.replace(" ", "T") + "Z");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function timelineInLocalTime(figure) {
  const axis = figure.layout.xaxis || {};
  if (!axis.title || axis.title.text !== "Time (UTC)") return;
  for (const trace of figure.data) {
    if (Array.isArray(trace.base)) trace.base = trace.base.map(localPlotlyDate);
  }
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local";
  axis.title = Object.assign({}, axis.title, { text: `Time (${zone})` });
}

// ---------------------------------------------------------------------------------------
// Study page: trials fetched incrementally (?since=), table sorted and filtered in the page,
// figures re-fetched when the study's version changes (at most every few seconds).
// ---------------------------------------------------------------------------------------
function parseFilter(text) {
  return text.trim().split(/\s+/).filter(Boolean).map((token) => {
    const m = token.match(/^([^<>=!]+)(<=|>=|!=|<|>|=)(.*)$/);
    if (!m) return { text: token.toLowerCase() };
    return { key: m[1], op: m[2], value: m[3] };
  });
}

// A parameter's column key is "params.<name>", so that parameters named "number", "value" or
// "duration" get their own values, not the trial's. Filter terms take the same keys, and a
// parameter's bare name when no built-in field has it ("lr<0.01"): "number>150" is the trial
// number, "params.number>150" the parameter. An objective is "value" (objective 0),
// "values_<i>", or "values_<metric name>" as in study.trials_dataframe().
const PARAM_KEY = "params.";

function fieldOf(row, key, metricNames) {
  if (key.startsWith(PARAM_KEY)) return row.params[key.slice(PARAM_KEY.length)];
  if (key === "number") return row.number;
  if (key === "state") return row.state;
  if (key === "duration") return row.duration;
  if (key === "feasible") return feasibleText(row);
  if (key === "value") return row.values ? num(row.values[0]) : null;
  const v = key.match(/^values?_?(\d+)$/);
  if (v) return row.values ? num(row.values[Number(v[1])]) : null;
  const named = metricNames && key.startsWith("values_") ? metricNames.indexOf(key.slice(7)) : -1;
  if (named >= 0) return row.values ? num(row.values[named]) : null;
  return row.params[key];
}

// Columns of the trials table as [key, label]: objectives labelled with the study's metric
// names (study.set_metric_names) when it has them.
function tableColumns(summary, params, withFeasible) {
  const cols = [["number", "#"], ["state", "State"]];
  const names = summary.metric_names;
  if (summary.directions.length === 1) cols.push(["value", names ? names[0] : "Value"]);
  else summary.directions.forEach((_, i) => cols.push([`values_${i}`, names ? names[i] : `Value ${i}`]));
  cols.push(["duration", "Duration (s)"]);
  if (withFeasible) cols.push(["feasible", "Feasible"]);
  params.forEach((p) => cols.push([PARAM_KEY + p, p]));
  return cols;
}

function matches(row, rules, metricNames) {
  for (const rule of rules) {
    if (rule.text !== undefined) {
      const hay = `${row.number} ${row.state} ${JSON.stringify(row.params)}`.toLowerCase();
      if (!hay.includes(rule.text)) return false;
      continue;
    }
    const have = fieldOf(row, rule.key, metricNames);
    if (have === undefined || have === null) return false;
    const a = typeof have === "number" ? have : String(have);
    const b = typeof have === "number" ? Number(rule.value) : rule.value;
    const ok = { "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b, "=": a == b, "!=": a != b }[rule.op];
    if (!ok) return false;
  }
  return true;
}

function compare(a, b) {
  const na = a === null || a === undefined || (typeof a === "number" && isNaN(a));
  const nb = b === null || b === undefined || (typeof b === "number" && isNaN(b));
  if (na || nb) return na && nb ? 0 : na ? 1 : -1; // missing values last either way
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

async function studyPage() {
  const studyId = location.pathname.split("/")[2];
  const api = `/api/studies/${studyId}`;
  const trials = [];          // indexed by trial number
  let cursor = 0;
  let version = null;
  let summary = null;
  let sortKey = "number", sortDir = 1, pageNo = 0;
  let plotVersion = null, plotBusy = false, lastPlotAt = 0, plotCost = 0;

  summary = await getJSON(api);
  document.getElementById("study-name").textContent = summary.study_name;
  document.title = `tunelab · ${summary.study_name}`;
  const plots = document.getElementById("plots");
  plots.innerHTML = summary.plots.map((k) => `<div class="plot" id="plot-${k}" data-kind="${k}"></div>`).join("");

  function renderSummary() {
    const c = summary.n_trials_by_state;
    const infeasible = summary.n_infeasible ? `${summary.n_infeasible} infeasible · ` : "";
    const text = bestText(summary);
    const best = !text ? "" : summary.best_values ? `best ${text} · ` : `${text} · `;
    document.getElementById("summary").innerHTML =
      `<span class="live" id="status">live</span> ${esc(summary.directions.join(", "))} · ` +
      `${summary.n_trials} trials (${c.COMPLETE} complete, ${c.PRUNED} pruned, ${c.FAIL} failed, ` +
      `${c.RUNNING} running) · ${esc(infeasible)}${esc(best)}last activity ${esc(fmtTime(summary.last_activity))}`;
  }

  function renderTable() {
    const withFeasible = trials.some((r) => r && feasibleText(r) !== null);
    const cols = tableColumns(summary, summary.params, withFeasible);
    const names = summary.metric_names;
    const head = document.querySelector("#trials thead");
    head.innerHTML = "<tr>" + cols.map(([key, label]) =>
      `<th class="sortable" data-key="${esc(key)}" title="filter: ${esc(key)}">${esc(label)}${key === sortKey ? (sortDir > 0 ? " ▲" : " ▼") : ""}</th>`).join("") + "</tr>";
    const state = document.getElementById("state-filter").value;
    const rules = parseFilter(document.getElementById("text-filter").value);
    let rows = trials.filter((r) => r && (!state || r.state === state) && matches(r, rules, names));
    rows.sort((a, b) => sortDir * compare(fieldOf(a, sortKey, names), fieldOf(b, sortKey, names)) || a.number - b.number);
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    pageNo = Math.min(pageNo, pages - 1);
    const shown = rows.slice(pageNo * PAGE_SIZE, (pageNo + 1) * PAGE_SIZE);
    document.getElementById("page-info").textContent = `${rows.length} trials · page ${pageNo + 1} of ${pages}`;
    // Infeasible rows are greyed, as their points are in the figures.
    document.querySelector("#trials tbody").innerHTML = shown.map((r) => (r.feasible === false ? '<tr class="infeasible">' : "<tr>") + cols.map(([key]) => {
      let v = fieldOf(r, key, names);
      if (key === "number") return `<td><a href="/studies/${studyId}/trials/${r.number}">${r.number}</a></td>`;
      if (key === "state") return `<td class="state-${r.state}">${r.state}</td>`;
      if (key === "duration" && typeof v === "number") v = v.toFixed(2);
      return `<td>${esc(fmt(v))}</td>`;
    }).join("") + "</tr>").join("");
  }

  document.querySelector("#trials thead").addEventListener("click", (ev) => {
    const th = ev.target.closest("th");
    if (!th) return;
    const key = th.dataset.key;
    sortDir = key === sortKey ? -sortDir : 1;
    sortKey = key;
    renderTable();
  });
  document.getElementById("state-filter").addEventListener("change", () => { pageNo = 0; renderTable(); });
  document.getElementById("text-filter").addEventListener("input", () => { pageNo = 0; renderTable(); });
  document.getElementById("prev").addEventListener("click", () => { pageNo = Math.max(0, pageNo - 1); renderTable(); });
  document.getElementById("next").addEventListener("click", () => { pageNo += 1; renderTable(); });

  async function fetchTrials() {
    // Rows held as unfinished are named so that the server resends them once they finish;
    // past a few hundred (a long queue) the URL would grow too long, so ask for every trial
    // from the first of them instead.
    const pending = trials.filter((r) => r && (r.state === "RUNNING" || r.state === "WAITING"))
      .map((r) => r.number);
    const query = pending.length > MAX_PENDING
      ? `since=${Math.min(cursor, pending[0])}`
      : `since=${cursor}` + (pending.length ? `&pending=${pending.join(",")}` : "");
    const data = await getJSON(`${api}/trials?${query}`);
    for (const row of data.trials) trials[row.number] = row;
    cursor = data.cursor;
    const changed = data.version !== version;
    version = data.version;
    return changed;
  }

  async function drawPlot(kind) {
    const div = document.getElementById(`plot-${kind}`);
    try {
      const data = await getJSON(`${api}/plots/${kind}`);
      if (data.figure && kind === "timeline") timelineInLocalTime(data.figure);
      if (data.figure) {
        const layout = Object.assign({}, data.figure.layout, { autosize: true, height: 380, margin: { t: kind === "parallel" ? 100 : 50, l: 60, r: 20, b: 50 } });
        if (div.querySelector(".message")) div.innerHTML = "";
        await Plotly.react(div, data.figure.data, layout, { responsive: true, displaylogo: false });
        div.dataset.rendered = "1";
      } else {
        div.innerHTML = `<div class="message">${esc(data.message)}</div>`;
        div.dataset.rendered = "message";
      }
      div.dataset.version = data.version;
    } catch (err) {
      div.innerHTML = `<div class="message">${esc(err.message)}</div>`;
    }
  }

  // plotly.js is large: load it after the table is on screen, not before.
  let plotlyReady = null;
  function loadPlotly() {
    if (!plotlyReady) {
      plotlyReady = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = "/static/plotly.min.js";
        script.onload = resolve;
        script.onerror = () => reject(new Error("could not load plotly.min.js"));
        document.head.appendChild(script);
      });
    }
    return plotlyReady;
  }

  const idle = () => new Promise((resolve) => setTimeout(resolve, 0));

  // The figures show the trials and the metric names: either changing redraws them.
  const plotKey = () => `${version}|${JSON.stringify(summary.metric_names || null)}`;

  async function refreshPlots() {
    if (plotBusy || plotKey() === plotVersion) return;
    // Figures of a big study cost time: refresh them no more often than 2x what they cost.
    if (Date.now() - lastPlotAt < Math.max(POLL_MS, 2 * plotCost)) return;
    plotBusy = true;
    const started = Date.now();
    const target = plotKey();
    const drawn = version;
    try {
      await loadPlotly();
      // One figure at a time, yielding between them, so the table stays responsive.
      for (const kind of summary.plots) {
        await drawPlot(kind);
        await idle();
      }
      plotVersion = target;
      document.body.dataset.plotVersion = drawn;
    } finally {
      plotCost = Date.now() - started;
      lastPlotAt = Date.now();
      plotBusy = false;
    }
  }

  renderSummary();
  await fetchTrials();
  renderTable();
  document.body.dataset.ready = "1";
  lastPlotAt = 0;
  refreshPlots();

  let ticks = 0;
  async function poll() {
    try {
      if (await fetchTrials()) renderTable();
      if (++ticks % 2 === 0 || version !== summary.version) {
        const fresh = await getJSON(api);
        const newParams = fresh.params.join() !== summary.params.join();
        // Renamed objectives (set_metric_names) add no trial, so the version stays: redraw
        // the table's headers and the figures that show the names.
        const renamed = JSON.stringify(fresh.metric_names) !== JSON.stringify(summary.metric_names);
        summary = Object.assign(fresh, { plots: summary.plots });
        renderSummary();
        if (newParams || renamed) renderTable();
      }
      refreshPlots();
      setStatus(true);
    } catch (err) {
      setStatus(false);
    }
    setTimeout(poll, POLL_MS);
  }
  setTimeout(poll, POLL_MS);
}

// ---------------------------------------------------------------------------------------
// Trial page
// ---------------------------------------------------------------------------------------
async function trialPage() {
  const parts = location.pathname.split("/");
  const studyId = parts[2], number = parts[4];
  document.getElementById("study-link").href = `/studies/${studyId}`;
  document.getElementById("trial-name").textContent = `trial ${number}`;
  const study = await getJSON(`/api/studies/${studyId}`);
  document.getElementById("study-link").textContent = study.study_name;

  async function refresh() {
    const t = await getJSON(`/api/studies/${studyId}/trials/${number}`);
    const names = study.metric_names;  // set_metric_names: "loss 0.31, acc 0.92"
    const values = t.values ? t.values.map((v, i) => (names ? `${names[i]} ${fmt(v)}` : fmt(v))).join(", ") : "";
    const rows = [["State", `<span class="state-${t.state}">${t.state}</span>`], ["Value(s)", esc(values)],
      ["Started", esc(fmtTime(t.datetime_start))], ["Finished", esc(fmtTime(t.datetime_complete))],
      ["Duration (s)", t.duration === null ? "" : t.duration.toFixed(3)]];
    if (t.constraints) {
      // Constraints come by name (Trial.set_constraint) or numbered "0", "1", ... (constraints_func).
      const entries = Object.entries(t.constraints);
      const violation = entries.map(([, v]) => num(v)).reduce((sum, v) => sum + Math.max(0, v), 0);
      const verdict = t.feasible ? "feasible" : `infeasible (total violation ${fmt(violation)})`;
      const listed = entries.map(([k, v]) => `${k}: ${fmt(v)}`).join(", ");
      rows.splice(2, 0, ["Constraints", `${esc(listed)} · ` +
        `<span class="${t.feasible ? "feasible" : "infeasible"}">${esc(verdict)}</span>`]);
    }
    document.querySelector("#overview tbody").innerHTML = rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("");
    document.querySelector("#params tbody").innerHTML = Object.entries(t.params).map(([k, v]) =>
      `<tr><th>${esc(k)}</th><td>${esc(fmt(v))}</td><td class="muted">${esc(JSON.stringify(t.distributions[k]))}</td></tr>`).join("");
    const iv = t.intermediate_values;
    const curve = document.getElementById("curve");
    if (iv.steps.length) {
      Plotly.react(curve, [{ x: iv.steps, y: iv.values.map(num), mode: "lines+markers" }],
        { height: 320, margin: { t: 20 }, xaxis: { title: { text: "Step" } }, template: "plotly_white" }, { displaylogo: false });
    } else {
      curve.innerHTML = '<div class="message">No intermediate values reported.</div>';
    }
    document.getElementById("user-attrs").textContent = JSON.stringify(t.user_attrs, null, 2);
    document.getElementById("system-attrs").textContent = JSON.stringify(t.system_attrs, null, 2);
    document.getElementById("failure").innerHTML = t.fail_reason
      ? `<h3>Failure reason</h3><pre class="state-FAIL">${esc(t.fail_reason)}</pre>` : "";
    document.body.dataset.ready = "1";
    if (t.state === "RUNNING" || t.state === "WAITING") setTimeout(refresh, POLL_MS);
  }
  await refresh();
}

const pages = { studies: studiesPage, study: studyPage, trial: trialPage };
pages[document.body.dataset.page]().catch((err) => {
  const main = document.querySelector("main");
  main.insertAdjacentHTML("afterbegin", `<p class="state-FAIL">${esc(err.message)}</p>`);
});
