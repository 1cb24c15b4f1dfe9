/* The planner's pages: small, dependency-free helpers over the JSON API. */
"use strict";
const mediamix = (() => {
  async function api(path, options = {}) {
    const opts = { credentials: "same-origin", ...options };
    if (opts.json !== undefined) {
      opts.body = JSON.stringify(opts.json);
      opts.headers = { "Content-Type": "application/json", ...(opts.headers || {}) };
      delete opts.json;
    }
    const resp = await fetch(path, opts);
    if (resp.status === 204) return null;
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
    if (!resp.ok) {
      const detail = data && data.detail ? data.detail : `${resp.status} ${resp.statusText}`;
      throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    }
    return data;
  }

  function showError(el, err) {
    el.textContent = err ? (err.message || String(err)) : "";
    el.hidden = !err;
  }

  // Numbers for people: thousands separators, never scientific notation; whole numbers at or
  // above 100, `digits` significant digits below.
  function fmt(x, digits = 3) {
    if (x === null || x === undefined || x === "") return "";
    const n = Number(x);
    if (!Number.isFinite(n)) return String(x);
    if (n === 0 || Math.abs(n) >= 100) return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
    const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(n))));
    return n.toLocaleString("en-US", { maximumFractionDigits: Math.min(decimals, 20) });
  }

  function signed(x, digits = 3) {
    const text = fmt(x, digits);
    return Number(x) > 0 ? `+${text}` : text;
  }

  function percent(x) {
    if (x === null || x === undefined || !Number.isFinite(Number(x))) return "";
    const v = Number(x) * 100;
    const text = Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(1);
    return `${v > 0 ? "+" : ""}${text}%`;
  }

  // A column name as a person writes it (as the server's `pages.humanise` does)
  const ACRONYMS = new Set(["tv", "ctv", "ooh", "dooh", "sem", "seo", "crm", "sms", "pr", "vod",
    "bvod", "dv360", "ppc", "cpc", "cpm", "b2b", "b2c", "uk", "us", "eu", "id"]);
  const SUFFIXES = ["_spend", "_cost", "_costs", "_investment", "_media", "_eur", "_usd", "_gbp"];
  function humanise(name) {
    const text = String(name);
    if (text.trim().includes(" ") || (/^[A-Z]/.test(text) && !text.includes("_"))) return text;
    let low = text.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
    for (const s of SUFFIXES) {
      if (low.endsWith(s) && low.length > s.length) { low = low.slice(0, -s.length); break; }
    }
    const words = low.split(/[_\-.\s]+/).filter((w) => w);
    if (!words.length) return text;
    const out = words.map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w));
    if (out[0] === words[0]) out[0] = out[0].charAt(0).toUpperCase() + out[0].slice(1);
    return out.join(" ");
  }

  function cell(tr, value, numeric) {
    const td = document.createElement("td");
    td.textContent = value;
    if (numeric) td.className = "num";
    tr.appendChild(td);
    return td;
  }

  // ---------------------------------------------------------------------- runs
  function runsPage() {
    const form = document.getElementById("upload-form");
    const error = document.getElementById("upload-error");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showError(error, null);
      const button = document.getElementById("upload-button");
      button.disabled = true;
      try {
        await api("/api/runs", { method: "POST", body: new FormData(form) });
        window.location.reload();
      } catch (err) {
        showError(error, err);
      } finally {
        button.disabled = false;
      }
    });
    document.querySelectorAll("tr[data-run]").forEach((row) => {
      if (["queued", "running", "cancelling"].includes(row.dataset.status)) poll(row);
    });
  }

  async function poll(row) {
    try {
      const job = await api(`/api/jobs/${encodeURIComponent(row.dataset.run)}`);
      row.querySelector("progress").value = job.progress;
      row.querySelector(".status").textContent = job.status;
      row.querySelector(".message").textContent = job.message;
      row.dataset.status = job.status;
      if (job.done) {
        if (job.status === "done" || job.status === "cancelled") window.location.reload();
        return;
      }
    } catch (err) {
      row.querySelector(".message").textContent = err.message;
    }
    setTimeout(() => poll(row), 1000);
  }

  // ----------------------------------------------------------------- one run
  function runPage() {
    const retry = document.getElementById("retry-button");
    if (retry) {
      retry.addEventListener("click", async () => {
        retry.disabled = true;
        try {
          await api(`/api/runs/${encodeURIComponent(retry.dataset.run)}/retry`, { method: "POST" });
          window.location.reload();
        } catch (err) {
          showError(document.getElementById("retry-error"), err);
          retry.disabled = false;
        }
      });
    }
    const section = document.getElementById("job");
    if (!section) return;
    const bar = document.getElementById("job-progress");
    const pct = document.getElementById("job-percent");
    const message = document.getElementById("job-message");
    const cancel = document.getElementById("cancel-button");
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try {
        const job = await api(`/api/runs/${encodeURIComponent(section.dataset.run)}/cancel`,
                              { method: "POST" });
        message.textContent = job.message;
        document.getElementById("run-status").textContent = job.status;
        if (job.done) window.location.reload();
      } catch (err) {
        showError(document.getElementById("job-error"), err);
        cancel.disabled = false;
      }
    });
    const tick = async () => {
      try {
        const job = await api(`/api/jobs/${encodeURIComponent(section.dataset.run)}`);
        bar.value = job.progress;
        pct.textContent = `${Math.round(job.progress * 100)}%`;
        message.textContent = job.message;
        document.getElementById("run-status").textContent = job.status;
        if (job.status === "cancelling") cancel.disabled = true;
        if (job.done) { window.location.reload(); return; }
      } catch (err) {
        message.textContent = err.message;
      }
      setTimeout(tick, 500);
    };
    tick();
  }

  // ------------------------------------------------------------------- curves
  async function curvesChart(runId, elementId) {
    const curves = await api(`/api/runs/${encodeURIComponent(runId)}/curves`);
    const colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
      "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
    const traces = [];
    curves.forEach((c, k) => {
      const colour = colours[k % colours.length];
      traces.push({ x: c.spend, y: c.kpi, name: humanise(c.name), mode: "lines", legendgroup: c.name,
        line: { color: colour } });
      if (c.reference_spend) {
        const i = c.spend.findIndex((s) => s >= c.reference_spend);
        if (i >= 0) traces.push({ x: [c.spend[i]], y: [c.kpi[i]], mode: "markers",
          name: `${humanise(c.name)} today`, legendgroup: c.name, showlegend: false,
          marker: { color: colour, size: 9 } });
      }
    });
    Plotly.newPlot(elementId, traces, { margin: { t: 20 }, xaxis: { title: { text: "spend per period" } },
      yaxis: { title: { text: "incremental KPI per period" } } }, { displaylogo: false });
  }

  // ------------------------------------------------------------------ planner
  // The plan on screen is always the answer to the inputs on screen, or it says it is not:
  // `shown` holds the inputs (as sent) and the answer of the last successful solve; Save is
  // enabled only when no solve is running and the inputs on screen are those of `shown`, and
  // it saves exactly `shown`. A failed or infeasible solve clears the plan.
  function plannerPage() {
    const data = JSON.parse(document.getElementById("planner-data").textContent);
    const defaults = data.defaults;
    const range = document.getElementById("budget-range");
    const box = document.getElementById("budget-input");
    const budget0 = Math.round(defaults.budget || 100);
    range.max = String(Math.max(budget0 * 3, 1));
    range.step = String(Math.max(1, Math.round(budget0 / 200)));
    range.value = String(budget0);
    box.value = String(budget0);
    range.addEventListener("input", () => { box.value = range.value; });
    box.addEventListener("input", () => {
      if (Number(box.value) > Number(range.max)) range.max = String(Number(box.value) * 1.5);
      range.value = box.value;
    });
    const risk = document.getElementById("risk");
    const alphaLabel = document.getElementById("alpha-label");
    const showAlpha = () => { alphaLabel.hidden = risk.value !== "cvar"; };
    risk.addEventListener("change", showAlpha);
    showAlpha();
    const objective = document.getElementById("objective");
    const targetLabel = document.getElementById("target-label");
    const showTarget = () => {
      targetLabel.hidden = !["min_spend", "kpi_at_min_roas"].includes(objective.value);
    };
    objective.addEventListener("change", showTarget);
    showTarget();
    document.getElementById("run-select").addEventListener("change", (ev) => {
      window.location.href = `/planner?run=${encodeURIComponent(ev.target.value)}`;
    });

    const form = document.getElementById("planner-form");
    const error = document.getElementById("plan-error");
    const optimiseButton = document.getElementById("optimise-button");
    const saveButton = document.getElementById("save-button");
    const saveStatus = document.getElementById("save-status");
    const solveStatus = document.getElementById("solve-status");
    const staleNote = document.getElementById("plan-stale");
    const section = document.getElementById("plan-section");
    let shown = null; // {key, body, result}: the plan on screen and the inputs it answers
    let solving = 0; // solves in flight
    let latest = 0; // the number of the last solve asked for; older answers are dropped

    function currentKey() {
      try { return JSON.stringify(plannerRequest(defaults)); } catch (e) { return null; }
    }

    function refresh() {
      const fresh = shown !== null && currentKey() === shown.key;
      staleNote.hidden = shown === null || fresh;
      section.classList.toggle("stale", shown !== null && !fresh);
      saveButton.disabled = solving > 0 || !fresh;
      saveButton.title = solving > 0 ? "wait for the solve to finish"
        : !shown ? "optimise first" : !fresh ? "the inputs changed: optimise them first" : "";
    }

    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);

    optimiseButton.addEventListener("click", async () => {
      showError(error, null);
      saveStatus.textContent = "";
      let body;
      try { body = plannerRequest(defaults); } catch (err) { showError(error, err); return; }
      const key = JSON.stringify(body);
      const mine = ++latest;
      solving += 1;
      optimiseButton.disabled = true;
      solveStatus.textContent = "Solving…";
      refresh();
      const started = performance.now();
      try {
        const result = await api(`/api/runs/${encodeURIComponent(data.run_id)}/optimise`,
          { method: "POST", json: body });
        if (mine === latest) {
          shown = { key, body, result };
          renderPlan(result, performance.now() - started, defaults, body);
        }
      } catch (err) {
        if (mine === latest) {
          shown = null; // an infeasible or failed solve leaves no plan to save
          section.hidden = true;
          showError(error, err);
        }
      } finally {
        solving -= 1;
        optimiseButton.disabled = solving > 0;
        if (solving === 0) solveStatus.textContent = "";
        refresh();
      }
    });

    saveButton.addEventListener("click", async () => {
      refresh();
      if (saveButton.disabled || !shown) return;
      const saved = shown;
      const name = document.getElementById("scenario-name").value.trim()
        || `Plan at ${fmt(saved.body.budget)} per period`;
      saveButton.disabled = true;
      try {
        const out = await api("/api/scenarios", { method: "POST",
          json: { run_id: data.run_id, name, problem: saved.result.problem, plan: saved.result.plan } });
        saveStatus.textContent = `Saved “${out.name}”.`;
      } catch (err) {
        saveStatus.textContent = err.message;
      } finally {
        refresh();
      }
    });
    refresh();
  }

  function parseJsonField(id, what) {
    const text = document.getElementById(id).value.trim();
    if (!text) return undefined;
    try { return JSON.parse(text); } catch (e) { throw new Error(`${what} is not valid JSON: ${e.message}`); }
  }

  function numberField(id) {
    const v = document.getElementById(id).value;
    return v === "" ? undefined : Number(v);
  }

  // The request for the inputs on screen. Each channel's bounds: Min / Max where given, else
  // today's spend +- the row's percentage (empty percentage: no bound).
  function plannerRequest(defaults) {
    const risk = document.getElementById("risk").value;
    const objective = document.getElementById("objective").value;
    const body = {
      budget: numberField("budget-input"),
      objective,
      kpi_value: numberField("kpi-value"),
      risk,
      alpha: risk === "cvar" ? numberField("alpha") : undefined,
      target: ["min_spend", "kpi_at_min_roas"].includes(objective) ? numberField("target") : undefined,
      elastic_penalty: numberField("elastic"),
      bounds: {},
    };
    document.querySelectorAll("#bounds-table tr[data-channel]").forEach((tr) => {
      const ref = Number(tr.dataset.reference);
      const pctText = tr.querySelector(".pct").value;
      const loText = tr.querySelector(".lo").value;
      const hiText = tr.querySelector(".hi").value;
      let lo = null;
      let hi = null;
      if (pctText !== "" && ref > 0) {
        const pct = Number(pctText) / 100;
        lo = Math.max(0, ref * (1 - pct));
        hi = ref * (1 + pct);
      }
      if (loText !== "") lo = Number(loText);
      if (hiText !== "") hi = Number(hiText);
      if (lo !== null || hi !== null) body.bounds[tr.dataset.channel] = [lo, hi];
    });
    const departments = parseJsonField("departments", "Department budgets");
    if (departments) body.departments = departments;
    const shares = parseJsonField("shares", "Shares");
    if (shares) body.shares = shares;
    if (document.getElementById("frontier").checked && body.budget) {
      body.sweep = [body.budget * 0.25, body.budget * 2, body.budget * 0.25];
    }
    Object.keys(body).forEach((k) => body[k] === undefined && delete body[k]);
    return body;
  }

  function interval(stats) {
    if (!stats || stats.p5 === undefined || stats.p5 === stats.p95) return "";
    return ` (90% interval ${fmt(stats.p5)} to ${fmt(stats.p95)})`;
  }

  function renderPlan(result, millis, defaults, body) {
    const plan = result.plan || {};
    const kpiName = defaults.kpi || "KPI";
    const value = body.kpi_value ?? defaults.kpi_value;
    const isMoney = body.kpi_value !== undefined; // a value was typed: the KPI is worth money
    const labels = Object.fromEntries((defaults.channels || []).map((c) => [c.name, c.label]));
    const label = (name) => labels[name] || humanise(name);
    document.getElementById("plan-section").hidden = false;

    // the headline: today's plan, the recommendation, the gain
    const head = document.getElementById("plan-headline");
    head.replaceChildren();
    const line = (cls, text) => {
      const p = document.createElement("p");
      p.className = cls;
      p.textContent = text;
      head.appendChild(p);
    };
    const up = plan.uplift;
    const spend = plan.spend_total;
    const rate = (kpi, money) => {
      if (!kpi || !money) return "";
      if (isMoney) return ` · ROAS ${fmt((kpi * value) / money, 3)}`;
      return ` · cost per ${kpiName} ${fmt(money / kpi, 3)}`;
    };
    if (up) {
      line("today", `Today's plan: ${fmt(up.today.mean)} ${kpiName} per period from media, `
        + `spending ${fmt(up.today_spend)}${rate(up.today.mean, up.today_spend)}.`);
      line("recommended", `Recommended: ${fmt(up.plan.mean)} ${kpiName} per period${interval(up.plan)}, `
        + `spending ${fmt(spend)}${rate(up.plan.mean, spend)}.`);
      const rel = up.relative === null || up.relative === undefined ? "" : ` (${percent(up.relative)})`;
      line("gain", `Expected gain: ${signed(up.mean)} ${kpiName} per period${rel}${interval(up)}`
        + (isMoney ? `, worth ${signed(up.mean * value)}.` : "."));
    } else if (plan.kpi !== undefined) {
      line("recommended", `Recommended: ${fmt(plan.kpi)} ${kpiName} per period, spending ${fmt(spend)}${rate(plan.kpi, spend)}.`);
    }

    // guard-rails: spend outside what the data has seen
    const warnings = document.getElementById("plan-warnings");
    warnings.replaceChildren();
    (plan.extrapolation || []).forEach((w) => {
      const li = document.createElement("li");
      li.dataset.channel = w.channel;
      li.textContent = `${label(w.channel)}: ${fmt(w.spend)} per period is ${w.side} any spend in the data `
        + `(${fmt(w.min)} to ${fmt(w.max)}); the response there is extrapolated, so treat it with care.`;
      warnings.appendChild(li);
    });
    if (body.objective === "kpi" && body.budget && spend < body.budget * 0.999) {
      const li = document.createElement("li");
      li.className = "unspent";
      li.textContent = `The bounds hold spend to ${fmt(spend)} of the budget of ${fmt(body.budget)} per period: `
        + "widen the ± % (or a Max) to plan the rest.";
      warnings.appendChild(li);
    }
    if (!plan.spend_range) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "This run does not record the spend range of its data, so the plan cannot be checked for extrapolation.";
      warnings.appendChild(li);
    }

    const parts = [`Status: ${plan.status ?? "?"}`];
    if (plan.method) parts.push(`method ${plan.method}`);
    if (plan.gap !== undefined && plan.gap !== null) parts.push(`optimality gap ${fmt(plan.gap, 2)}`);
    parts.push(`solved in ${fmt(millis / 1000, 2)} s`);
    document.getElementById("plan-summary").textContent = parts.join(" · ");

    const tbody = document.querySelector("#plan-table tbody");
    tbody.replaceChildren();
    result.rows.forEach((r) => {
      const tr = document.createElement("tr");
      tr.dataset.channel = r.channel;
      const name = cell(tr, label(r.channel));
      name.title = r.channel;
      cell(tr, fmt(r.current_spend), true);
      cell(tr, fmt(r.recommended_spend), true).className = "num recommended";
      let change = "";
      if (r.current_spend !== null && r.recommended_spend !== null) {
        const abs = Number(r.recommended_spend) - Number(r.current_spend);
        const rel = Number(r.current_spend) > 0 ? abs / Number(r.current_spend) : null;
        change = rel === null ? signed(abs) : `${percent(rel)} (${signed(abs)})`;
      }
      cell(tr, change, true).className = "num change";
      cell(tr, fmt(r.expected_kpi), true);
      cell(tr, fmt(r.marginal_return), true);
      cell(tr, r.binding ? `${r.binding} bound` : "");
      tbody.appendChild(tr);
    });

    const depTable = document.getElementById("departments-table");
    const deps = plan.departments || {};
    depTable.hidden = Object.keys(deps).length === 0;
    const depBody = depTable.querySelector("tbody");
    depBody.replaceChildren();
    Object.entries(deps).forEach(([name, d]) => {
      const tr = document.createElement("tr");
      cell(tr, name);
      cell(tr, fmt(d.spend), true);
      cell(tr, fmt(d.budget), true);
      cell(tr, fmt(d.overrun), true);
      cell(tr, fmt(d.shadow_price), true);
      depBody.appendChild(tr);
    });

    const conTable = document.getElementById("constraints-table");
    const cons = plan.constraints || [];
    conTable.hidden = cons.length === 0;
    const conBody = conTable.querySelector("tbody");
    conBody.replaceChildren();
    cons.forEach((c) => {
      const tr = document.createElement("tr");
      cell(tr, c.name);
      cell(tr, fmt(c.value), true);
      cell(tr, fmt(c.rhs), true);
      cell(tr, c.binding ? "yes" : "no");
      cell(tr, fmt(c.shadow_price), true);
      conBody.appendChild(tr);
    });
    const messages = document.getElementById("plan-messages");
    messages.replaceChildren();
    (plan.messages || []).forEach((m) => {
      const li = document.createElement("li");
      li.textContent = m;
      messages.appendChild(li);
    });

    if (window.Plotly) {
      const names = result.rows.map((r) => label(r.channel));
      const axis = { title: { text: "spend per period" }, tickformat: ",.0f" };
      Plotly.react("plan-chart", [
        { type: "bar", name: "today", x: names, y: result.rows.map((r) => r.current_spend) },
        { type: "bar", name: "recommended", x: names, y: result.rows.map((r) => r.recommended_spend) },
      ], { barmode: "group", margin: { t: 20 }, yaxis: axis }, { displaylogo: false });
      const frontier = plan.frontier || [];
      const fdiv = document.getElementById("frontier-chart");
      fdiv.hidden = frontier.length === 0;
      if (frontier.length) {
        Plotly.react("frontier-chart", [{ x: frontier.map((p) => p.budget), y: frontier.map((p) => p.kpi),
          mode: "lines+markers", name: "best plan" }],
          { margin: { t: 20 }, xaxis: { title: { text: "budget per period" }, tickformat: ",.0f" },
            yaxis: { title: { text: `${kpiName} per period from media` }, tickformat: ",.0f" } },
          { displaylogo: false });
      }
    }
  }

  // ---------------------------------------------------------------- scenarios
  // The weeks-ahead view: POST /api/runs/{id}/horizon, then the weekly figure and table.
  function parseDark(text) {
    const out = {};
    for (const part of String(text || "").split(",")) {
      const item = part.trim();
      if (!item) continue;
      const at = item.indexOf(":");
      if (at < 1 || at === item.length - 1) {
        throw new Error(`dark weeks must look like channel:date, e.g. tv:2026-12-21 (got "${item}")`);
      }
      const ch = item.slice(0, at).trim();
      (out[ch] = out[ch] || []).push(item.slice(at + 1).trim());
    }
    return out;
  }

  function horizonView(runId) {
    const button = document.getElementById("horizon-button");
    if (!button) return;
    const error = document.getElementById("horizon-error");
    const status = document.getElementById("horizon-status");
    const summary = document.getElementById("horizon-summary");
    const table = document.getElementById("horizon-table");
    const value = (id) => document.getElementById(id).value.trim();
    button.addEventListener("click", async () => {
      showError(error, null);
      let body;
      try {
        body = { horizon: Number(value("horizon")), carry_out: document.getElementById("horizon-carry-out").checked,
                 discount: Number(value("horizon-discount") || 0) / 100, dark: parseDark(value("horizon-dark")) };
        if (value("horizon-budget")) body.budget = Number(value("horizon-budget"));
        if (value("horizon-max-change")) body.max_change = Number(value("horizon-max-change")) / 100;
      } catch (err) { showError(error, err); return; }
      button.disabled = true;
      status.textContent = "Planning…";
      const t0 = performance.now();
      try {
        const res = await api(`/api/runs/${encodeURIComponent(runId)}/horizon`, { method: "POST", json: body });
        renderHorizon(res, performance.now() - t0);
        status.textContent = "";
      } catch (err) {
        status.textContent = "";
        showError(error, err);
      } finally {
        button.disabled = false;
      }
    });

    function renderHorizon(res, millis) {
      const plan = res.plan;
      const head = table.querySelector("thead");
      const tbody = table.querySelector("tbody");
      head.innerHTML = "";
      tbody.innerHTML = "";
      const htr = document.createElement("tr");
      for (const h of res.header) {
        const th = document.createElement("th");
        th.textContent = h;
        htr.appendChild(th);
      }
      head.appendChild(htr);
      res.rows.forEach((row, t) => {
        const tr = document.createElement("tr");
        tr.dataset.week = String(t);
        row.forEach((v, j) => cell(tr, v, j > 0));
        tbody.appendChild(tr);
      });
      table.hidden = false;
      const c = plan.constant || {};
      const gap = plan.gap === null || plan.gap === undefined ? "not certified" : `gap ${Number(plan.gap).toExponential(1)}`;
      let text = `${plan.periods} weeks, ${plan.status}, ${gap}, solved in ${(millis / 1000).toFixed(1)} s.`;
      if (c.margin_rel !== null && c.margin_rel !== undefined) {
        text += ` ${percent(c.margin_rel)} against the best constant weekly split under the same rules.`;
      }
      summary.textContent = text;
      summary.hidden = false;
      if (window.Plotly) {
        const dates = plan.dates;
        const names = plan.channels;
        const fc = plan.forecast;
        const traces = names.map((n) => ({ x: dates, y: plan.spend[n], type: "bar", name: humanise(n) }));
        traces.push({ x: dates, y: fc.upper, mode: "lines", line: { width: 0 }, yaxis: "y2", showlegend: false, hoverinfo: "skip" });
        traces.push({ x: dates, y: fc.lower, mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(34,34,34,0.15)",
                      yaxis: "y2", name: `${Math.round(100 * fc.level)}% band` });
        traces.push({ x: dates, y: fc.kpi, mode: "lines+markers", line: { color: "#222" }, yaxis: "y2", name: "forecast KPI" });
        window.Plotly.newPlot("horizon-chart", traces, {
          barmode: "stack", title: "Spend per week and the forecast KPI", template: "plotly_white",
          yaxis: { title: "spend per week", domain: [0, 0.45] }, yaxis2: { title: "KPI", domain: [0.55, 1] },
          legend: { orientation: "h" }, margin: { l: 60, r: 20, t: 50, b: 40 },
        }, { displaylogo: false, responsive: true });
      }
    }
  }

  function scenariosPage() {
    const error = document.getElementById("compare-error");
    document.querySelectorAll("button.delete").forEach((b) => b.addEventListener("click", async () => {
      try {
        await api(`/api/scenarios/${b.dataset.id}`, { method: "DELETE" });
        b.closest("tr").remove();
      } catch (err) {
        showError(error, err);
      }
    }));
    document.getElementById("compare-button").addEventListener("click", async () => {
      showError(error, null);
      const ids = [...document.querySelectorAll("input.pick:checked")].map((c) => c.value);
      if (ids.length === 0) { showError(error, new Error("Tick the scenarios to compare.")); return; }
      try {
        const cmp = await api(`/api/scenarios/compare?${ids.map((i) => `ids=${i}`).join("&")}`);
        const table = document.getElementById("compare-table");
        const head = document.createElement("tr");
        cell(head, "");
        cmp.scenarios.forEach((s) => cell(head, s.name));
        table.tHead.replaceChildren(head);
        const body = table.tBodies[0];
        body.replaceChildren();
        const addRow = (label, values) => {
          const tr = document.createElement("tr");
          cell(tr, label);
          values.forEach((v) => cell(tr, fmt(v), true));
          body.appendChild(tr);
        };
        addRow("budget", cmp.scenarios.map((s) => s.budget));
        addRow("expected KPI", cmp.scenarios.map((s) => s.kpi));
        addRow("spend", cmp.scenarios.map((s) => s.spend_total));
        cmp.channels.forEach((c) => addRow(humanise(c), cmp.allocation[c]));
        table.hidden = false;
      } catch (err) {
        showError(error, err);
      }
    });
  }

  return { api, fmt, humanise, runsPage, runPage, curvesChart, plannerPage, horizonView, scenariosPage };
})();
