/* The planner's geo breakdown: the per-geo form -> POST /api/runs/{id}/geo-plan -> the geo x
   channel table, per-geo totals and shares, the certificate; saved as a scenario and shown
   again from /planner?run=ID&scenario=SID. Uses app.js's helpers (`mediamix`). */
"use strict";
const mediamixGeo = (() => {
  const { api, fmt, humanise } = mediamix;

  function value(input) {
    const v = input.value.trim();
    return v === "" ? null : Number(v);
  }

  function pct(x) {
    if (x === null || x === undefined || !Number.isFinite(Number(x))) return "";
    return `${(Number(x) * 100).toFixed(1)}%`;
  }

  // The request for the inputs on screen (shares typed in %, sent as 0..1).
  function request() {
    const body = { share_of: document.getElementById("geo-share-of").value,
      geo_caps: {}, geo_share: {}, channel_bounds: {} };
    const budget = value(document.getElementById("geo-budget"));
    if (budget !== null) body.budget = budget;
    const rel = value(document.getElementById("geo-relative"));
    if (rel !== null) body.relative_bound = rel / 100;
    document.querySelectorAll("#geo-rules-table tr[data-geo]").forEach((tr) => {
      const g = tr.dataset.geo;
      const cap = value(tr.querySelector(".cap"));
      if (cap !== null) body.geo_caps[g] = cap;
      const lo = value(tr.querySelector(".share-lo"));
      const hi = value(tr.querySelector(".share-hi"));
      if (lo !== null || hi !== null) {
        body.geo_share[g] = [lo === null ? null : lo / 100, hi === null ? null : hi / 100];
      }
    });
    document.querySelectorAll("#geo-channel-table tr[data-channel]").forEach((tr) => {
      const lo = value(tr.querySelector(".lo"));
      const hi = value(tr.querySelector(".hi"));
      if (lo !== null || hi !== null) body.channel_bounds[tr.dataset.channel] = [lo, hi];
    });
    return body;
  }

  // The inputs of a saved geo scenario's problem (its `geo` section: caps, share, channels).
  function fill(problem) {
    const rules = problem.geo || {};
    document.getElementById("geo-budget").value = problem.budget ?? "";
    document.getElementById("geo-share-of").value = rules.share_of || "spend";
    const rel = problem.relative_bound;
    document.getElementById("geo-relative").value = rel === null || rel === undefined ? "" : String(rel * 100);
    const caps = rules.caps || {};
    const share = rules.share || {};
    const chans = rules.channels || {};
    const put = (input, v, scale = 1) => { input.value = v === null || v === undefined ? "" : String(v * scale); };
    document.querySelectorAll("#geo-rules-table tr[data-geo]").forEach((tr) => {
      const g = tr.dataset.geo;
      const cap = Array.isArray(caps[g]) ? caps[g][1] : caps[g];
      put(tr.querySelector(".cap"), cap);
      const [lo, hi] = share[g] || [null, null];
      put(tr.querySelector(".share-lo"), lo, 100);
      put(tr.querySelector(".share-hi"), hi, 100);
    });
    document.querySelectorAll("#geo-channel-table tr[data-channel]").forEach((tr) => {
      const [lo, hi] = chans[tr.dataset.channel] || [null, null];
      put(tr.querySelector(".lo"), lo);
      put(tr.querySelector(".hi"), hi);
    });
  }

  function td(tr, text, cls, data) {
    const el = document.createElement(tr.parentElement && tr.parentElement.tagName === "THEAD" ? "th" : "td");
    el.textContent = text;
    if (cls) el.className = cls;
    Object.entries(data || {}).forEach(([k, v]) => { if (v !== null && v !== undefined) el.dataset[k] = String(v); });
    tr.appendChild(el);
    return el;
  }

  function gapText(geo) {
    if (geo.gap === null || geo.gap === undefined) return "no certificate";
    const g = Number(geo.gap);
    const shown = g === 0 ? "0" : g.toExponential(1);
    return `certificate gap ${shown} (target ${Number(geo.gap_tol).toExponential(0)}): `
      + (geo.certified ? "certified optimal" : "NOT certified");
  }

  // The breakdown of `plan.geo` (GeoPlan.to_dict).
  function render(geo) {
    document.getElementById("geo-result").hidden = false;
    const parts = [`Status ${geo.status}`, gapText(geo),
      `expected KPI ${fmt(geo.kpi)} per period from media`,
      `spend ${fmt(geo.spend_total)}` + (geo.budget ? ` of a budget of ${fmt(geo.budget)}` : "")];
    const summary = document.getElementById("geo-summary");
    summary.textContent = parts.join(" · ");
    summary.dataset.gap = String(geo.gap);
    summary.dataset.certified = String(geo.certified);

    const table = document.getElementById("geo-table");
    const head = document.createElement("tr");
    table.tHead.replaceChildren(head);
    td(head, "Geo");
    geo.channels.forEach((c) => td(head, humanise(c), "num"));
    ["Total", "Share", "Today", "Today's share", "KPI per period", "Held by"].forEach((h) => td(head, h));
    const body = table.tBodies[0];
    body.replaceChildren();
    geo.geos.forEach((g, i) => {
      const tr = document.createElement("tr");
      tr.dataset.geo = g;
      body.appendChild(tr);
      td(tr, g);
      const row = geo.table.spend[i];
      geo.channels.forEach((c, j) => td(tr, row[j] === null ? "—" : fmt(row[j]), "num spend",
        { channel: c, value: row[j] }));
      const b = geo.by_geo[g];
      td(tr, fmt(b.spend), "num total", { value: b.spend });
      td(tr, pct(b.share), "num share", { value: b.share });
      td(tr, fmt(b.current), "num", { value: b.current });
      td(tr, pct(b.current_share), "num");
      td(tr, fmt(b.kpi), "num kpi", { value: b.kpi });
      td(tr, (b.binding || []).join("; "), "binding");
    });
    const foot = document.createElement("tr");
    table.tFoot.replaceChildren(foot);
    foot.dataset.geo = "";
    td(foot, "All geos");
    geo.channels.forEach((c) => td(foot, fmt(geo.by_channel[c].spend), "num spend",
      { channel: c, value: geo.by_channel[c].spend }));
    const cur = geo.geos.reduce((s, g) => s + (geo.by_geo[g].current || 0), 0);
    td(foot, fmt(geo.spend_total), "num total", { value: geo.spend_total });
    td(foot, geo.spend_total > 0 ? "100.0%" : "", "num share");
    td(foot, fmt(cur), "num");
    td(foot, "");
    td(foot, fmt(geo.kpi), "num kpi", { value: geo.kpi });
    td(foot, "");

    const list = document.getElementById("geo-binding");
    list.replaceChildren();
    (geo.rules || []).filter((r) => r.binding).forEach((r) => {
      const li = document.createElement("li");
      const step = r.shadow_unit === "share_point" || r.rule.startsWith("share")
        ? "one share point" : "one unit of spend";
      li.textContent = `${r.name} binds: relaxing it by ${step} would add ${fmt(r.shadow_price)} KPI per period`;
      list.appendChild(li);
    });
    (geo.messages || []).forEach((m) => {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = m;
      list.appendChild(li);
    });
    if (window.Plotly) {
      const traces = geo.channels.map((c, j) => ({ type: "bar", name: humanise(c), x: geo.geos,
        y: geo.table.spend.map((row) => row[j]) }));
      Plotly.react("geo-chart", traces, { barmode: "stack", margin: { t: 20 },
        yaxis: { title: { text: "spend per period" }, tickformat: ",.0f" } }, { displaylogo: false });
    }
  }

  function geoPlanner() {
    const data = JSON.parse(document.getElementById("geo-data").textContent);
    const form = document.getElementById("geo-form");
    const button = document.getElementById("geo-plan-button");
    const status = document.getElementById("geo-status");
    const error = document.getElementById("geo-error");
    const save = document.getElementById("geo-save-button");
    const saveStatus = document.getElementById("geo-save-status");
    let shown = null; // {key, result}: the plan on screen and the inputs it answers
    let latest = 0;

    const key = () => JSON.stringify(request());
    const refresh = () => {
      const fresh = shown !== null && key() === shown.key;
      save.disabled = !fresh;
      save.title = !shown ? "plan first" : fresh ? "" : "the inputs changed: plan them first";
    };
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);

    button.addEventListener("click", async () => {
      error.hidden = true;
      saveStatus.textContent = "";
      const body = request();
      const mine = ++latest;
      status.textContent = "Solving…";
      button.disabled = true;
      save.disabled = true;
      try {
        const result = await api(`/api/runs/${encodeURIComponent(data.run_id)}/geo-plan`,
          { method: "POST", json: body });
        if (mine === latest) {
          shown = { key: JSON.stringify(body), result };
          render(result.plan.geo);
          document.getElementById("geo-loaded").hidden = true;
        }
      } catch (err) {
        if (mine === latest) {
          shown = null;
          document.getElementById("geo-result").hidden = true;
          error.textContent = err.message;
          error.hidden = false;
        }
      } finally {
        button.disabled = false;
        status.textContent = "";
        refresh();
      }
    });

    save.addEventListener("click", async () => {
      refresh();
      if (save.disabled || !shown) return;
      const name = document.getElementById("geo-scenario-name").value.trim()
        || `Geo plan at ${fmt(shown.result.plan.geo.spend_total)} per period`;
      save.disabled = true;
      try {
        const out = await api("/api/scenarios", { method: "POST", json: { run_id: data.run_id, name,
          problem: shown.result.problem, plan: shown.result.plan } });
        saveStatus.textContent = `Saved “${out.name}”.`;
        saveStatus.dataset.id = String(out.id);
      } catch (err) {
        saveStatus.textContent = err.message;
      } finally {
        refresh();
      }
    });

    // /planner?run=ID&scenario=SID: show a saved geo scenario's plan and its inputs
    const sid = new URLSearchParams(window.location.search).get("scenario");
    if (sid) {
      api(`/api/scenarios/${encodeURIComponent(sid)}`).then((s) => {
        if (!s || !s.plan || !s.plan.geo || (s.problem || {}).kind !== "geo") return;
        if (s.run_id !== data.run_id) return;
        fill(s.problem);
        shown = { key: key(), result: { problem: s.problem, plan: s.plan } };
        render(s.plan.geo);
        const note = document.getElementById("geo-loaded");
        note.textContent = `Showing the saved scenario “${s.name}”.`;
        note.hidden = false;
        refresh();
      }).catch((err) => { error.textContent = err.message; error.hidden = false; });
    }
    refresh();
  }

  return { geoPlanner, request, render };
})();
