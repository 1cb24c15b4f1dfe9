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

  function fmt(x, digits = 4) {
    if (x === null || x === undefined || x === "") return "";
    const n = Number(x);
    if (!Number.isFinite(n)) return String(x);
    if (n !== 0 && Math.abs(n) < 1e-3) return n.toExponential(1);
    return n.toLocaleString("en-US", { maximumSignificantDigits: digits });
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
      if (row.dataset.status === "queued" || row.dataset.status === "running") poll(row);
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
        if (job.status === "done") window.location.reload();
        return;
      }
    } catch (err) {
      row.querySelector(".message").textContent = err.message;
    }
    setTimeout(() => poll(row), 1000);
  }

  // ------------------------------------------------------------------- curves
  async function curvesChart(runId, elementId) {
    const curves = await api(`/api/runs/${encodeURIComponent(runId)}/curves`);
    const colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
      "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
    const traces = [];
    curves.forEach((c, k) => {
      const colour = colours[k % colours.length];
      traces.push({ x: c.spend, y: c.kpi, name: c.name, mode: "lines", legendgroup: c.name,
        line: { color: colour } });
      if (c.reference_spend) {
        const i = c.spend.findIndex((s) => s >= c.reference_spend);
        if (i >= 0) traces.push({ x: [c.spend[i]], y: [c.kpi[i]], mode: "markers",
          name: `${c.name} today`, legendgroup: c.name, showlegend: false,
          marker: { color: colour, size: 9 } });
      }
    });
    Plotly.newPlot(elementId, traces, { margin: { t: 20 }, xaxis: { title: { text: "spend per period" } },
      yaxis: { title: { text: "incremental KPI per period" } } }, { displaylogo: false });
  }

  // ------------------------------------------------------------------ planner
  function plannerPage() {
    const data = JSON.parse(document.getElementById("planner-data").textContent);
    const range = document.getElementById("budget-range");
    const box = document.getElementById("budget-input");
    const budget0 = data.defaults.budget || 100;
    range.max = String(budget0 * 3);
    range.value = String(budget0);
    box.value = String(budget0);
    range.addEventListener("input", () => { box.value = range.value; });
    box.addEventListener("input", () => {
      if (Number(box.value) > Number(range.max)) range.max = String(Number(box.value) * 1.5);
      range.value = box.value;
    });
    document.getElementById("run-select").addEventListener("change", (ev) => {
      window.location.href = `/planner?run=${encodeURIComponent(ev.target.value)}`;
    });
    let last = null;
    const error = document.getElementById("plan-error");
    const optimiseButton = document.getElementById("optimise-button");
    optimiseButton.addEventListener("click", async () => {
      showError(error, null);
      optimiseButton.disabled = true;
      const started = performance.now();
      try {
        const body = plannerRequest(budget0);
        const result = await api(`/api/runs/${encodeURIComponent(data.run_id)}/optimise`,
          { method: "POST", json: body });
        last = result;
        renderPlan(result, performance.now() - started);
      } catch (err) {
        showError(error, err);
      } finally {
        optimiseButton.disabled = false;
      }
    });
    document.getElementById("save-button").addEventListener("click", async () => {
      const status = document.getElementById("save-status");
      const name = document.getElementById("scenario-name").value;
      try {
        const saved = await api("/api/scenarios", { method: "POST",
          json: { run_id: data.run_id, name, problem: last.problem, plan: last.plan } });
        status.textContent = `Saved “${saved.name}”.`;
      } catch (err) {
        status.textContent = err.message;
      }
    });
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

  function plannerRequest() {
    const body = {
      budget: numberField("budget-input"),
      objective: document.getElementById("objective").value,
      kpi_value: numberField("kpi-value"),
      risk: document.getElementById("risk").value,
      alpha: numberField("alpha"),
      target: numberField("target"),
      elastic_penalty: numberField("elastic"),
      bounds: {},
    };
    document.querySelectorAll("#bounds-table tr[data-channel]").forEach((tr) => {
      const lo = tr.querySelector(".lo").value;
      const hi = tr.querySelector(".hi").value;
      if (lo !== "" || hi !== "") {
        body.bounds[tr.dataset.channel] = [lo === "" ? null : Number(lo), hi === "" ? null : Number(hi)];
      }
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

  function renderPlan(result, millis) {
    const plan = result.plan || {};
    document.getElementById("plan-section").hidden = false;
    const parts = [`Status: ${plan.status ?? "?"}`];
    if (plan.kpi !== undefined) parts.push(`expected KPI ${fmt(plan.kpi, 6)}`);
    const out = plan.outcome || plan.kpi_interval;
    if (out && (out.p5 ?? out.lower) !== undefined && (out.p5 ?? out.lower) !== (out.p95 ?? out.upper)) {
      parts.push(`(90% interval ${fmt(out.p5 ?? out.lower)} – ${fmt(out.p95 ?? out.upper)})`);
    }
    if (plan.spend_total !== undefined) parts.push(`spend ${fmt(plan.spend_total, 6)}`);
    if (plan.method) parts.push(`method ${plan.method}`);
    if (plan.gap !== undefined && plan.gap !== null) parts.push(`gap ${fmt(plan.gap, 2)}`);
    parts.push(`solved in ${fmt(millis / 1000, 3)} s`);
    document.getElementById("plan-summary").textContent = parts.join(" · ");

    const tbody = document.querySelector("#plan-table tbody");
    tbody.replaceChildren();
    result.rows.forEach((r) => {
      const tr = document.createElement("tr");
      tr.dataset.channel = r.channel;
      cell(tr, r.channel);
      cell(tr, fmt(r.current_spend, 6), true);
      cell(tr, fmt(r.recommended_spend, 6), true).className = "num recommended";
      cell(tr, fmt(r.change_abs, 6), true);
      cell(tr, fmt(r.expected_kpi, 6), true);
      cell(tr, fmt(r.marginal_return), true);
      cell(tr, r.binding ?? "");
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
      cell(tr, fmt(d.spend, 6), true);
      cell(tr, fmt(d.budget, 6), true);
      cell(tr, fmt(d.overrun, 6), true);
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
      cell(tr, fmt(c.value, 6), true);
      cell(tr, fmt(c.rhs, 6), true);
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
      const names = result.rows.map((r) => r.channel);
      Plotly.react("plan-chart", [
        { type: "bar", name: "current", x: names, y: result.rows.map((r) => r.current_spend) },
        { type: "bar", name: "recommended", x: names, y: result.rows.map((r) => r.recommended_spend) },
      ], { barmode: "group", margin: { t: 20 }, yaxis: { title: { text: "spend" } } }, { displaylogo: false });
      const frontier = plan.frontier || [];
      const fdiv = document.getElementById("frontier-chart");
      fdiv.hidden = frontier.length === 0;
      if (frontier.length) {
        Plotly.react("frontier-chart", [{ x: frontier.map((p) => p.budget), y: frontier.map((p) => p.kpi),
          mode: "lines+markers", name: "optimal KPI" }],
          { margin: { t: 20 }, xaxis: { title: { text: "budget" } }, yaxis: { title: { text: "KPI" } } },
          { displaylogo: false });
      }
    }
  }

  // ---------------------------------------------------------------- scenarios
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
          values.forEach((v) => cell(tr, fmt(v, 6), true));
          body.appendChild(tr);
        };
        addRow("budget", cmp.scenarios.map((s) => s.budget));
        addRow("expected KPI", cmp.scenarios.map((s) => s.kpi));
        addRow("spend", cmp.scenarios.map((s) => s.spend_total));
        cmp.channels.forEach((c) => addRow(c, cmp.allocation[c]));
        table.hidden = false;
      } catch (err) {
        showError(error, err);
      }
    });
  }

  return { api, runsPage, curvesChart, plannerPage, scenariosPage };
})();
