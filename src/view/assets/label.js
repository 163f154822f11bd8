// Labelling tool: pairs one at a time, field by field; keys m (match), n (non-match), u
// (unsure), arrows to move. Labels are kept in the browser (localStorage) and exported as a
// Splink-style labels.csv: source_dataset_l, unique_id_l, source_dataset_r, unique_id_r,
// clerical_match_score (1 match, 0 non-match; unsure pairs are left out).
(function () {
  pageHeader("Labelling tool");
  const app = document.getElementById("app");
  const PAIRS = DATA.pairs, C = DATA.comparisons;
  const lw = levelWeights(DATA.params.m, DATA.params.u, C);
  const storeKey = "fellegi-labels:" + DATA.title + ":" + DATA.strategy + ":" + PAIRS.length;
  let labels = {};
  try { labels = JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { labels = {}; }
  const state = { i: 0 };
  const pairKey = p => { const a = DATA.records[p.l], b = DATA.records[p.r]; return a.s + ":" + a.id + "|" + b.s + ":" + b.id; };

  const progress = el("div", { id: "progress", class: "small" });
  const view = el("div", { id: "pair-view", class: "panel" });
  const exportA = el("a", { id: "export", download: "labels.csv", href: "#" }, "Export labels.csv");
  app.appendChild(el("div", { class: "panel" },
    el("span", { class: "key" }, "m"), " match · ", el("span", { class: "key" }, "n"), " non-match · ",
    el("span", { class: "key" }, "u"), " unsure · ", el("span", { class: "key" }, "←"), " ", el("span", { class: "key" }, "→"), " previous / next · ",
    el("button", { onclick: () => setLabel("match") }, "match"), " ", el("button", { onclick: () => setLabel("non-match") }, "non-match"), " ",
    el("button", { onclick: () => setLabel("unsure") }, "unsure"), " · ", exportA, " ", progress));
  app.appendChild(view);

  function csv() {
    const q = s => /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    const lines = ["source_dataset_l,unique_id_l,source_dataset_r,unique_id_r,clerical_match_score"];
    for (const p of PAIRS) {
      const v = labels[pairKey(p)];
      if (v !== "match" && v !== "non-match") continue;
      const a = DATA.records[p.l], b = DATA.records[p.r];
      lines.push([a.s, a.id, b.s, b.id].map(q).join(",") + "," + (v === "match" ? "1" : "0"));
    }
    return lines.join("\n") + "\n";
  }
  function refreshExport() { exportA.setAttribute("href", "data:text/csv;charset=utf-8," + encodeURIComponent(csv())); }
  function setLabel(v) {
    if (!PAIRS.length) return;
    labels[pairKey(PAIRS[state.i])] = v;
    try { localStorage.setItem(storeKey, JSON.stringify(labels)); } catch (e) { /* storage may be off for file:// */ }
    if (state.i < PAIRS.length - 1) state.i++;
    draw();
  }
  function draw() {
    const done = PAIRS.filter(p => labels[pairKey(p)]).length;
    progress.textContent = done + " of " + PAIRS.length + " labelled";
    refreshExport();
    if (!PAIRS.length) { view.replaceChildren(el("p", {}, "No pairs to label.")); return; }
    const p = PAIRS[state.i], a = DATA.records[p.l], b = DATA.records[p.r];
    const lab = labels[pairKey(p)];
    const cls = { match: "lab-match", "non-match": "lab-nonmatch", unsure: "lab-unsure" }[lab] || null;
    view.className = "panel " + (cls || "");
    view.replaceChildren(
      el("h2", {}, "Pair " + (state.i + 1) + " of " + PAIRS.length + (lab ? " — labelled " + lab : "")),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, a.s + ":" + a.id), el("th", {}, b.s + ":" + b.id))),
        el("tbody", {}, DATA.columns.map((col, j) => el("tr", {}, el("th", {}, col), valueCell(a.v[j], b.v[j]), valueCell(b.v[j], a.v[j]))))),
      el("details", {}, el("summary", {}, "model's view (match probability " + fmtProb(p.p) + ")"),
        el("table", {}, el("tbody", {}, C.map((c, k) => el("tr", {}, el("th", {}, c.name), el("td", {}, c.levels[p.levels[k]]),
          el("td", { class: "num" }, fmt(lw[k][p.levels[k]], 2) + " bits")))))));
  }
  document.addEventListener("keydown", e => {
    if (e.target && e.target.tagName === "INPUT") return;
    if (e.key === "m") setLabel("match");
    else if (e.key === "n") setLabel("non-match");
    else if (e.key === "u") setLabel("unsure");
    else if (e.key === "ArrowRight" || e.key === "j") { state.i = Math.min(PAIRS.length - 1, state.i + 1); draw(); }
    else if (e.key === "ArrowLeft" || e.key === "k") { state.i = Math.max(0, state.i - 1); draw(); }
  });
  draw();
  window.fellegiLabels = { csv };
})();
