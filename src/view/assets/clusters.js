// Cluster studio: sampled clusters as graphs (records as nodes, links as edges with their
// probability); per cluster its size, density, bridges and weakest link.
(function () {
  pageHeader("Cluster studio");
  const app = document.getElementById("app");
  const CL = DATA.clusters;
  const state = { reason: "all", query: "", current: CL.length ? 0 : null };
  const recName = n => typeof n === "number" ? DATA.records[n].s + ":" + DATA.records[n].id : String(n);
  const recTitle = n => typeof n === "number"
    ? recName(n) + "\n" + DATA.columns.map((c, j) => c + ": " + (DATA.records[n].v[j] ?? "(missing)")).join("\n")
    : String(n);

  const reasonSel = el("select", { id: "reason", onchange: e => { state.reason = e.target.value; drawList(); } },
    ["all", "largest", "lowest density", "random"].map(r => el("option", { value: r }, r)));
  const search = el("input", { type: "text", id: "search", placeholder: "record id or cluster id", oninput: e => { state.query = e.target.value.trim(); drawList(); } });
  const list = el("tbody", { id: "cluster-list" });
  const view = el("div", { id: "cluster-view", class: "panel" });
  app.appendChild(el("div", { class: "panel" }, "Show ", reasonSel, " · find ", search,
    el("span", { class: "small" }, " (searches the sampled clusters only)")));
  app.appendChild(el("div", { class: "row" },
    el("div", { class: "panel", style: "width: 430px; max-height: 760px; overflow: auto" },
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "cluster"), el("th", {}, "sampled as"), el("th", { class: "num" }, "size"),
        el("th", { class: "num" }, "density"), el("th", { class: "num" }, "bridges"), el("th", { class: "num" }, "weakest"))), list)),
    el("div", { class: "col" }, view)));

  function matches(c) {
    if (state.reason !== "all" && c.reason !== state.reason) return false;
    if (!state.query) return true;
    const q = state.query.toLowerCase();
    return String(c.id) === q || c.nodes.some(n => recName(n).toLowerCase().includes(q));
  }
  function drawList() {
    list.replaceChildren(...CL.map((c, i) => ({ c, i })).filter(x => matches(x.c)).map(({ c, i }) =>
      el("tr", { class: "pattern-row cluster-row" + (state.current === i ? " selected" : ""), "data-index": i, onclick: () => { state.current = i; drawList(); drawCluster(); } },
        el("td", {}, "#" + c.id), el("td", { class: "small" }, c.reason), el("td", { class: "num" }, c.size),
        el("td", { class: "num" }, fmt(c.density, 2)), el("td", { class: "num" }, c.bridges),
        el("td", { class: "num" }, c.weakest === null ? "–" : fmt(c.weakest, 3)))));
  }

  // A deterministic force layout: nodes start on a circle; springs on links, repulsion between all.
  function layout(n, edges, W, H) {
    const pos = Array.from({ length: n }, (_, i) => [W / 2 + 0.35 * W * Math.cos(2 * Math.PI * i / n), H / 2 + 0.35 * H * Math.sin(2 * Math.PI * i / n)]);
    const k = Math.sqrt(W * H / Math.max(1, n)) * 0.6;
    for (let it = 0; it < 300; it++) {
      const d = pos.map(() => [0, 0]);
      for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) {
        let dx = pos[a][0] - pos[b][0], dy = pos[a][1] - pos[b][1];
        const dist = Math.max(1, Math.hypot(dx, dy)), f = k * k / dist;
        dx /= dist; dy /= dist;
        d[a][0] += dx * f; d[a][1] += dy * f; d[b][0] -= dx * f; d[b][1] -= dy * f;
      }
      for (const [a, b] of edges) {
        let dx = pos[a][0] - pos[b][0], dy = pos[a][1] - pos[b][1];
        const dist = Math.max(1, Math.hypot(dx, dy)), f = dist * dist / k;
        dx /= dist; dy /= dist;
        d[a][0] -= dx * f; d[a][1] -= dy * f; d[b][0] += dx * f; d[b][1] += dy * f;
      }
      const t = 0.1 * W * (1 - it / 300);
      for (let a = 0; a < n; a++) {
        const len = Math.max(1e-9, Math.hypot(d[a][0], d[a][1]));
        pos[a][0] = Math.min(W - 20, Math.max(20, pos[a][0] + d[a][0] / len * Math.min(len, t)));
        pos[a][1] = Math.min(H - 20, Math.max(20, pos[a][1] + d[a][1] / len * Math.min(len, t)));
      }
    }
    return pos;
  }

  function drawCluster() {
    if (state.current === null) { view.replaceChildren(el("p", {}, "No clusters of two records or more.")); return; }
    const c = CL[state.current];
    const parts = [el("h2", {}, "Cluster #" + c.id + " (" + c.reason + ")"),
      el("div", {}, el("span", { class: "metric" }, "records", el("b", { id: "cl-size" }, c.size)),
        el("span", { class: "metric" }, "density", el("b", {}, fmt(c.density, 3))),
        el("span", { class: "metric" }, "bridges", el("b", {}, c.bridges)),
        el("span", { class: "metric" }, "weakest link", el("b", {}, c.weakest === null ? "–" : fmt(c.weakest, 4))))];
    if (!c.drawn) {
      parts.push(el("p", { class: "small" }, "Too large to draw on this page (see the note at the top)."));
    } else {
      const W = 640, H = 480;
      const pos = layout(c.nodes.length, c.edges, W, H);
      const bridges = new Set(c.bridge_edges);
      const g = svg("svg", { width: W, height: H, id: "graph", style: "background:#fff" });
      c.edges.forEach(([a, b, p], e) => {
        const weak = e === c.weakest_edge, br = bridges.has(e);
        g.appendChild(svg("line", { x1: pos[a][0], y1: pos[a][1], x2: pos[b][0], y2: pos[b][1],
          stroke: weak ? "#e08a00" : br ? "#c0504d" : "#5b7aa6", "stroke-width": 1 + 4 * p,
          "stroke-dasharray": br ? "6 3" : null, class: "edge" },
          svg("title", {}, recName(c.nodes[a]) + " – " + recName(c.nodes[b]) + ": p = " + fmt(p, 4) + (br ? " (bridge)" : "") + (weak ? " (weakest)" : ""))));
      });
      c.nodes.forEach((n, i) => {
        g.appendChild(svg("circle", { cx: pos[i][0], cy: pos[i][1], r: 9, fill: "#23395b", class: "node" }, svg("title", {}, recTitle(n))));
        g.appendChild(svg("text", { x: pos[i][0] + 11, y: pos[i][1] + 4, "font-size": 10 }, recName(n)));
      });
      parts.push(g, el("p", { class: "small" }, "Edge width: match probability. Dashed red: a bridge (removing it splits the cluster). Orange: the weakest link. Hover a node for its fields."));
      const recs = c.nodes.filter(n => typeof n === "number");
      parts.push(el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "record"), DATA.columns.map(col => el("th", {}, col)))),
        el("tbody", {}, recs.map(n => el("tr", {}, el("td", {}, recName(n)), DATA.records[n].v.map(v => valueCell(v)))))));
    }
    view.replaceChildren(...parts);
  }
  drawList();
  drawCluster();
})();
