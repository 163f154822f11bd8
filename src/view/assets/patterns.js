// Comparison viewer: one bar per comparison pattern; a click shows its example pairs side by
// side with the waterfall. The bar's weight and the waterfall's total are one function of the
// pattern's levels (patternWeight over levelWeights), so they agree by construction.
(function () {
  pageHeader("Comparison viewer");
  const app = document.getElementById("app");
  const P = DATA.params, C = DATA.comparisons;
  const prior = priorWeight(P.lambda);
  const lw = levelWeights(P.m, P.u, C);
  const tw = weightOf(Math.min(Math.max(DATA.threshold, 1e-12), 1 - 1e-12));
  const rows = DATA.patterns.map((p, i) => ({ ...p, i, w: patternWeight(prior, lw, p.levels) }));
  const totalPairs = rows.reduce((s, r) => s + r.count, 0);
  const above = rows.filter(r => r.w >= tw).reduce((s, r) => s + r.count, 0);
  const maxCount = Math.max(1, ...rows.map(r => r.count));
  const state = { sort: "weight", filters: C.map(() => "any"), selected: null, limit: 200 };

  const summary = el("div", { class: "panel" },
    el("span", { class: "metric" }, "patterns", el("b", {}, thousands(rows.length))),
    el("span", { class: "metric" }, "candidate pairs", el("b", {}, thousands(totalPairs))),
    el("span", { class: "metric" }, "above the threshold (p ≥ " + DATA.threshold + ")",
      el("b", { id: "share-above" }, thousands(above) + " (" + fmt(100 * above / Math.max(1, totalPairs), 1) + " %)")),
    DATA.truth ? el("span", { class: "metric" }, "true matches among candidates",
      el("b", {}, thousands(rows.reduce((s, r) => s + (r.true || 0), 0)))) : null);

  const sortSel = el("select", { id: "sort", onchange: e => { state.sort = e.target.value; draw(); } },
    ["weight", "count"].concat(DATA.truth ? ["true matches", "false matches"] : []).map(s => el("option", { value: s }, s)));
  const filterEls = C.map((c, k) => el("label", { class: "small" }, " " + c.name + " ",
    el("select", { class: "level-filter", "data-comparison": k, onchange: e => { state.filters[k] = e.target.value; draw(); } },
      el("option", { value: "any" }, "any"), c.levels.map((l, j) => el("option", { value: String(j) }, l)))));
  const controls = el("div", { class: "panel" }, "Sort by ", sortSel, " · filter by level:", filterEls);
  const list = el("tbody", { id: "pattern-list" });
  const table = el("table", {}, el("thead", {}, el("tr", {},
    el("th", {}, "pattern (" + C.map(c => c.name).join(", ") + ": E exact, × else, · null, n the n-th level)"), el("th", { class: "num" }, "weight"), el("th", { class: "num" }, "probability"),
    el("th", { class: "num" }, "pairs"), DATA.truth ? el("th", { class: "num" }, "true / false") : null,
    el("th", {}, "count (bar: green true, red false matches; dark: above the threshold)"))), list);
  const more = el("div", { id: "more" });
  const detail = el("div", { id: "detail", class: "panel" }, el("p", { class: "small" }, "Click a pattern to see its pairs."));
  app.appendChild(summary);
  app.appendChild(controls);
  app.appendChild(el("div", { class: "row" }, el("div", { class: "col panel", style: "max-height: 900px; overflow: auto; flex: 1.4" }, table, more),
    el("div", { class: "col" }, detail)));

  function bar(r) {
    const W = 260, H = 14, wTot = Math.max(2, W * Math.log1p(r.count) / Math.log1p(maxCount));
    const g = svg("svg", { width: W, height: H });
    const dark = r.w >= tw;
    if (DATA.truth && r.true !== null) {
      const wt = wTot * r.true / r.count;
      g.appendChild(svg("rect", { x: 0, y: 1, width: wt, height: H - 2, fill: dark ? "#2f7d3c" : "#8cc79a" }));
      g.appendChild(svg("rect", { x: wt, y: 1, width: Math.max(0, wTot - wt), height: H - 2, fill: dark ? "#b03a36" : "#e6a5a2" }));
    } else {
      g.appendChild(svg("rect", { x: 0, y: 1, width: wTot, height: H - 2, fill: dark ? "#23395b" : "#9fb3cc" }));
    }
    return g;
  }

  function draw() {
    let shown = rows.filter(r => state.filters.every((f, k) => f === "any" || r.levels[k] === Number(f)));
    const key = { weight: r => -r.w, count: r => -r.count, "true matches": r => -(r.true || 0), "false matches": r => -(r.count - (r.true || 0)) }[state.sort];
    shown = shown.slice().sort((a, b) => key(a) - key(b) || a.i - b.i);
    const hidden = Math.max(0, shown.length - state.limit);
    more.replaceChildren(hidden ? el("button", { id: "show-more", onclick: () => { state.limit += 500; draw(); } },
      "show 500 more of " + thousands(hidden) + " hidden patterns") : "");
    list.replaceChildren(...shown.slice(0, state.limit).map(r => el("tr", { class: "pattern-row" + (state.selected === r.i ? " selected" : ""), "data-index": r.i, onclick: () => select(r.i) },
      el("td", { class: "small", title: describeLevels(r.levels) }, shortLevels(r.levels)),
      el("td", { class: "num " + (r.w >= tw ? "above" : "below") }, fmt(r.w, 2)),
      el("td", { class: "num" }, fmtProb(probability(r.w))),
      el("td", { class: "num" }, thousands(r.count)),
      DATA.truth ? el("td", { class: "num" }, thousands(r.true) + " / " + thousands(r.count - r.true)) : null,
      el("td", {}, bar(r)))));
  }

  function select(i) {
    state.selected = i;
    const r = rows[i];
    const terms = waterfallTerms(lw, r.levels);
    const parts = [el("h2", {}, "Pattern " + (i + 1) + ": weight " + fmt(r.w, 3) + " bits, probability " + fmtProb(probability(r.w))),
      el("p", { class: "small" }, describeLevels(r.levels) + " · " + thousands(r.count) + " pairs" +
        (DATA.truth ? " · " + thousands(r.true) + " true, " + thousands(r.count - r.true) + " false matches" : "")),
      waterfallSvg(prior, terms)];
    if (!r.examples.length) parts.push(el("p", { class: "small" }, "No example pairs embedded for this pattern (see the note at the top)."));
    r.examples.forEach((ex, n) => {
      const a = DATA.records[ex[0]], b = DATA.records[ex[1]];
      const body = DATA.columns.map((col, j) => el("tr", {}, el("th", {}, col), valueCell(a.v[j], b.v[j]), valueCell(b.v[j], a.v[j])));
      const comps = C.map((c, k) => el("tr", {}, el("th", {}, c.name), el("td", { colspan: 2 },
        c.levels[r.levels[k]] + " · " + (terms[k].w >= 0 ? "+" : "") + fmt(terms[k].w, 3) + " bits")));
      parts.push(el("div", { class: "example-pair" }, el("h2", {}, "Example " + (n + 1)),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, a.s + ":" + a.id), el("th", {}, b.s + ":" + b.id))),
          el("tbody", {}, body, comps))));
    });
    detail.replaceChildren(...parts);
    draw();
  }
  draw();
  window.fellegiViewer = { weightOf: i => rows[i].w, select };
})();
