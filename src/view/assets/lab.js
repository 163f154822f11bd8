// Fellegi–Sunter lab: sliders for λ, each comparison's m and u per level, the threshold and the
// clerical band; every pattern's weight and posterior, the links, precision, recall, F1, the
// clerical workload, the weight histogram and the PR curve are recomputed from the pattern
// table on every move. The sums are fellegi's own (see common.js), and `fellegi lab
// --evaluate PARAMS.json` computes the same numbers in Rust.
(function () {
  pageHeader("Fellegi–Sunter lab");
  const app = document.getElementById("app");
  const C = DATA.comparisons;
  const ROWS = DATA.patterns.map(([levels, count, t]) => ({ levels, count, t: t || 0 }));
  const copy = p => ({ lambda: p.lambda, m: p.m.map(r => r.slice()), u: p.u.map(r => r.slice()) });
  const tw0 = DATA.threshold_weight;
  const S = { ...copy(DATA.em), threshold: tw0, review_lower: tw0 - 5, review_upper: tw0 + 5 };
  let last = null;
  const sliders = [];

  function evaluate(s) {
    const prior = priorWeight(s.lambda), lw = levelWeights(s.m, s.u, C);
    let links = 0, review = 0, tp = 0;
    const ws = new Array(ROWS.length);
    for (let i = 0; i < ROWS.length; i++) {
      const r = ROWS[i], w = patternWeight(prior, lw, r.levels);
      ws[i] = w;
      if (w >= s.threshold) { links += r.count; tp += r.t; }
      if (w >= s.review_lower && w < s.review_upper) review += r.count;
    }
    let metrics = null;
    if (DATA.true_pairs !== null) {
      const fp = links - tp, fn = Math.max(0, DATA.true_pairs - tp);
      const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
      const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
      const f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
      metrics = { true_positives: tp, false_positives: fp, false_negatives: fn, precision, recall, f1 };
    }
    return { links, review, metrics, weights: ws };
  }

  // --- layout
  const metricsEl = el("div", { id: "metrics", class: "panel" });
  const histEl = el("div", { id: "histogram", class: "panel" });
  const prEl = el("div", { id: "pr-curve", class: "panel" });
  const controls = el("div", { class: "panel", id: "controls" });
  const replayEl = el("div", { id: "replay", class: "panel" });
  app.appendChild(el("div", { class: "row" },
    el("div", { style: "width: 520px" }, controls, replayEl),
    el("div", { class: "col" }, metricsEl, el("div", { class: "row" }, el("div", { class: "col" }, histEl), el("div", { style: "width: 360px" }, prEl)))));

  function slider(id, label, min, max, step, get, set, show) {
    const input = el("input", { type: "range", id, min, max, step, value: get() });
    const out = el("span", { class: "num small" });
    const sync = () => { input.value = get(); out.textContent = show(); };
    input.addEventListener("input", () => { set(Number(input.value)); update(); });
    sliders.push(sync);
    return el("div", { class: "slider" }, el("label", { for: id }, label), input, out);
  }
  const lg = x => Math.log10(Math.max(x, 1e-300));
  controls.appendChild(el("h2", {}, "Parameters"));
  controls.appendChild(el("div", {},
    el("button", { id: "reset-em", onclick: () => reset(DATA.em) }, "reset to EM estimate"), " ",
    DATA.oracle ? el("button", { id: "reset-oracle", onclick: () => reset(DATA.oracle) }, "reset to truth (oracle)") : null, " ",
    el("button", { id: "tour-start", onclick: () => tour(0) }, "guided tour")));
  const lambdaBox = el("div", { id: "lambda-box" }, slider("lambda", "λ (log10)", -9, -0.31, 0.01, () => lg(S.lambda), v => { S.lambda = Math.pow(10, v); }, () => S.lambda.toExponential(3)));
  controls.appendChild(lambdaBox);
  const decision = el("div", { id: "decision-box" },
    slider("threshold", "threshold (bits)", -30, 40, 0.1, () => S.threshold, v => { S.threshold = v; }, () => fmt(S.threshold, 2) + " (p " + fmtProb(probability(S.threshold)) + ")"),
    slider("review-lower", "clerical band from", -30, 40, 0.1, () => S.review_lower, v => { S.review_lower = Math.min(v, S.review_upper); }, () => fmt(S.review_lower, 2)),
    slider("review-upper", "clerical band to", -30, 40, 0.1, () => S.review_upper, v => { S.review_upper = Math.max(v, S.review_lower); }, () => fmt(S.review_upper, 2)));
  controls.appendChild(decision);
  const muBox = el("div", { id: "mu-box" });
  C.forEach((c, k) => {
    const rowsEl = [];
    c.levels.forEach((label, l) => {
      if (l === c.null) return;
      rowsEl.push(el("div", { class: "small" }, label));
      rowsEl.push(slider(`m-${k}-${l}`, "m (log10)", -6, 0, 0.01, () => lg(S.m[k][l]), v => { S.m[k][l] = Math.pow(10, v); }, () => fmtProb(S.m[k][l])));
      rowsEl.push(slider(`u-${k}-${l}`, "u (log10)", -8, 0, 0.01, () => lg(S.u[k][l]), v => { S.u[k][l] = Math.pow(10, v); }, () => fmtProb(S.u[k][l])));
    });
    const sums = el("div", { class: "small mu-sums", "data-comparison": k });
    muBox.appendChild(el("details", k === 0 ? { open: "" } : {}, el("summary", {}, c.name), rowsEl, sums));
  });
  controls.appendChild(muBox);

  function reset(p) { Object.assign(S, copy(p)); update(); }

  // --- EM replay
  let step = 0, timer = null;
  function applyStep(k) {
    step = k;
    const st = DATA.replay[k];
    S.lambda = st.lambda; S.m = st.m.map(r => r.slice()); S.u = st.u.map(r => r.slice());
    update();
  }
  if (DATA.replay.length) {
    const info = el("div", { id: "replay-info", class: "small" });
    replayEl.append(el("h2", {}, "EM replay"),
      el("p", { class: "small" }, DATA.replay_source === "fitted_trace"
        ? "The fitted model's own EM trace, one iteration per step, session after session as training ran them (" +
          DATA.sessions.map(s => s.blocking + ": " + s.lambda.length + " iterations").join("; ") +
          "). Each comparison a session estimates takes the median of the sessions' estimates so far, as training combines them; the last step is the fitted model."
        : "EM over this run's candidate pairs from the starting values, one iteration per step (u fixed at the fitted u): this model's trace has no per-iteration parameters to replay. The fitted sessions' λ and log-likelihood per iteration: " +
          DATA.sessions.map(s => s.blocking + ": " + s.lambda.length + " iterations").join("; ") + "."),
      el("button", { id: "replay-first", onclick: () => applyStep(0) }, "first"), " ",
      el("button", { id: "replay-prev", onclick: () => applyStep(Math.max(0, step - 1)) }, "◀"), " ",
      el("button", { id: "replay-next", onclick: () => applyStep(Math.min(DATA.replay.length - 1, step + 1)) }, "▶"), " ",
      el("button", { id: "replay-last", onclick: () => applyStep(DATA.replay.length - 1) }, "last"), " ",
      el("button", { id: "replay-play", onclick: () => {
        if (timer) { clearInterval(timer); timer = null; return; }
        applyStep(0);
        timer = setInterval(() => { if (step >= DATA.replay.length - 1) { clearInterval(timer); timer = null; } else applyStep(step + 1); }, 600);
      } }, "play"), " ", info);
  }

  // --- charts
  function histogram(res) {
    const lo = -30, hi = 40, nb = hi - lo;
    const tr = new Array(nb).fill(0), fa = new Array(nb).fill(0);
    ROWS.forEach((r, i) => {
      const b = Math.min(nb - 1, Math.max(0, Math.floor(res.weights[i] - lo)));
      tr[b] += r.t; fa[b] += r.count - r.t;
    });
    const W = 560, H = 230, L = 40, B = 30;
    const ymax = Math.log10(1 + Math.max(1, ...tr.map((t, i) => t + fa[i])));
    const x = w => L + (w - lo) / (hi - lo) * (W - L - 10), y = v => H - B - v / ymax * (H - B - 10);
    const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, style: "width: 100%; max-width: 720px" });
    g.appendChild(svg("rect", { x: x(S.review_lower), y: 10, width: Math.max(0, x(S.review_upper) - x(S.review_lower)), height: H - B - 10, fill: "#fff3cd" }));
    for (let b = 0; b < nb; b++) {
      const tot = tr[b] + fa[b];
      if (!tot) continue;
      const ht = y(Math.log10(1 + tot)), split = DATA.truth ? tr[b] / tot : 0;
      const x0 = x(lo + b), w = x(lo + b + 1) - x0 - 1, hh = H - B - ht;
      g.appendChild(svg("rect", { x: x0, y: ht, width: w, height: Math.max(0, hh * (1 - split)), fill: DATA.truth ? "#c0504d" : "#5b7aa6" }, svg("title", {}, `weight [${lo + b}, ${lo + b + 1}): ${tr[b]} true, ${fa[b]} other pairs`)));
      if (DATA.truth) g.appendChild(svg("rect", { x: x0, y: ht + hh * (1 - split), width: w, height: Math.max(0, hh * split), fill: "#3b8b4c" }));
    }
    g.appendChild(svg("line", { x1: x(S.threshold), x2: x(S.threshold), y1: 6, y2: H - B, stroke: "#23395b", "stroke-width": 2 }));
    g.appendChild(svg("line", { x1: L, x2: W - 10, y1: H - B, y2: H - B, stroke: "#555" }));
    for (let w = lo; w <= hi; w += 10) g.appendChild(svg("text", { x: x(w) - 8, y: H - B + 14, "font-size": 10 }, w));
    g.appendChild(svg("text", { x: L, y: H - 4, "font-size": 11 }, "match weight (bits); height log10(1 + pairs); green true, red false; yellow: clerical band"));
    histEl.replaceChildren(el("h2", {}, "Weight histogram"), g);
  }
  function prCurve(res) {
    prEl.replaceChildren(el("h2", {}, "Precision–recall"));
    if (!res.metrics) { prEl.appendChild(el("p", { class: "small" }, "No truth in the inputs.")); return; }
    const order = ROWS.map((_, i) => i).sort((a, b) => res.weights[b] - res.weights[a]);
    let tp = 0, n = 0;
    const pts = [];
    order.forEach((i, j) => {
      tp += ROWS[i].t; n += ROWS[i].count;
      if (j === order.length - 1 || res.weights[order[j + 1]] !== res.weights[i]) pts.push([tp / DATA.true_pairs, n ? tp / n : 1]);
    });
    const W = 340, H = 300, L = 40, B = 30;
    const x = r => L + r * (W - L - 10), y = p => H - B - p * (H - B - 10);
    const g = svg("svg", { width: W, height: H });
    g.appendChild(svg("polyline", { points: pts.map(([r, p]) => x(r) + "," + y(p)).join(" "), fill: "none", stroke: "#23395b", "stroke-width": 2 }));
    g.appendChild(svg("circle", { cx: x(res.metrics.recall), cy: y(res.metrics.precision), r: 5, fill: "#e08a00" }));
    g.appendChild(svg("line", { x1: L, x2: W - 10, y1: H - B, y2: H - B, stroke: "#555" }));
    g.appendChild(svg("line", { x1: L, x2: L, y1: 10, y2: H - B, stroke: "#555" }));
    g.appendChild(svg("text", { x: W / 2 - 20, y: H - 6, "font-size": 11 }, "recall"));
    g.appendChild(svg("text", { x: 2, y: 20, "font-size": 11 }, "precision"));
    prEl.appendChild(g);
  }

  function update() {
    sliders.forEach(s => s());
    const res = evaluate(S);
    last = res;
    const m = res.metrics;
    metricsEl.replaceChildren(el("h2", {}, "Links and errors"),
      el("span", { class: "metric" }, "links", el("b", { id: "links" }, thousands(res.links))),
      el("span", { class: "metric" }, "clerical review", el("b", { id: "review" }, thousands(res.review))),
      el("span", { class: "metric" }, "precision", el("b", { id: "precision" }, m ? fmt(m.precision, 4) : "–")),
      el("span", { class: "metric" }, "recall", el("b", { id: "recall" }, m ? fmt(m.recall, 4) : "–")),
      el("span", { class: "metric" }, "F1", el("b", { id: "f1" }, m ? fmt(m.f1, 4) : "–")),
      m ? el("div", { class: "small" }, `true links ${thousands(m.true_positives)}, false links ${thousands(m.false_positives)}, missed true pairs ${thousands(m.false_negatives)} (of ${thousands(DATA.true_pairs)}, blocking misses included)`) : null,
      el("div", { class: "small" }, `${thousands(ROWS.length)} patterns · prior weight ${fmt(priorWeight(S.lambda), 3)} bits`));
    document.querySelectorAll(".mu-sums").forEach(e => {
      const k = Number(e.dataset.comparison);
      const sum = v => v.reduce((s, x, l) => l === C[k].null ? s : s + x, 0);
      e.textContent = `Σm = ${fmt(sum(S.m[k]), 3)}, Σu = ${fmt(sum(S.u[k]), 3)} (the lab does not renormalise)`;
    });
    const info = document.getElementById("replay-info");
    if (info) {
      const st = DATA.replay[step];
      info.textContent = ` step ${step} of ${DATA.replay.length - 1}, ${st.label}: λ ${st.lambda.toExponential(3)}` + (st.ll !== null ? `, log-likelihood ${fmt(st.ll, 1)}` : "");
    }
    histogram(res);
    prCurve(res);
  }

  // --- guided tour
  const TOUR = [
    ["metrics", "Every candidate pair has one comparison pattern. The page sums the pairs of each pattern to give the links, precision, recall and F1 — exactly as fellegi does."],
    ["lambda-box", "λ is the prior probability that two records match. Move it: the prior weight log2(λ/(1−λ)) shifts every pattern's weight by the same amount."],
    ["mu-box", "m = P(level | match), u = P(level | non-match). Each level adds log2(m/u) bits. Raise u of an exact level and watch agreement count for less."],
    ["decision-box", "Pairs at or above the threshold are links; the clerical band sends the uncertain ones to review. Narrow the band and count the workload."],
    ["pr-curve", "The curve traces every threshold; the dot is yours. Try 'reset to truth (oracle)' and the EM replay to see how close EM gets."],
  ];
  let tourBox = null;
  function tour(i) {
    document.querySelectorAll(".tour-focus").forEach(e => e.classList.remove("tour-focus"));
    if (tourBox) tourBox.remove();
    if (i >= TOUR.length) { tourBox = null; return; }
    const [id, text] = TOUR[i];
    const target = document.getElementById(id);
    if (target) { target.classList.add("tour-focus"); target.scrollIntoView({ block: "nearest" }); }
    tourBox = el("div", { id: "tour" }, el("b", {}, `Step ${i + 1} of ${TOUR.length}`), el("p", {}, text),
      el("button", { id: "tour-next", onclick: () => tour(i + 1) }, i + 1 < TOUR.length ? "next" : "done"), " ",
      el("button", { onclick: () => tour(TOUR.length) }, "close"));
    document.body.appendChild(tourBox);
  }

  update();
  window.fellegiLab = {
    state: () => JSON.parse(JSON.stringify(S)),
    result: () => ({ links: last.links, review: last.review, metrics: last.metrics }),
  };
})();
