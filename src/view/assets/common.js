"use strict";
// Shared by every fellegi page: the embedded data, the Fellegi–Sunter weights (the same sums,
// in the same order, as fellegi's pattern_weight over level_weights and prior_weight), and
// small DOM/SVG helpers. No network, no libraries.
const DATA = JSON.parse(document.getElementById("data").textContent);
const PROB_FLOOR = 1e-12;

/** log2(λ / (1 − λ)), λ clamped to [1e-12, 1 − 1e-12] as the library does. */
function priorWeight(lambda) {
  const l = Math.min(Math.max(lambda, PROB_FLOOR), 1 - PROB_FLOOR);
  return Math.log2(l / (1 - l));
}

/** Per comparison and level: log2(m / u), 0 for the null level. */
function levelWeights(m, u, comps) {
  return m.map((mc, c) => mc.map((x, l) =>
    l === comps[c].null ? 0 : Math.log2(Math.max(x, PROB_FLOOR) / Math.max(u[c][l], PROB_FLOOR))));
}

/** A pattern's match weight: the prior plus each comparison's level weight, in order. */
function patternWeight(prior, lw, levels) {
  let w = prior;
  for (let k = 0; k < levels.length; k++) w += lw[k][levels[k]];
  return w;
}

/** Match probability of a weight: 1 / (1 + 2^−w). */
function probability(w) { return 1 / (1 + Math.pow(2, -w)); }

/** Match weight of a probability. */
function weightOf(p) { return Math.log2(p / (1 - p)); }

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

const SVGNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) e.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

function fmt(x, d) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  return Number(x).toFixed(d === undefined ? 3 : d);
}
function thousands(n) { return Number(n).toLocaleString("en-US"); }
function fmtProb(p) { return p >= 0.001 || p === 0 ? p.toFixed(4) : p.toExponential(2); }

/** Header with the page name, the run's title and the sampling note. */
function pageHeader(name) {
  const h = el("header", {}, el("h1", {}, name + " — " + DATA.title),
    el("div", { class: "note" }, (DATA.sample_note ? DATA.sample_note + " · " : "") + DATA.tool));
  document.body.insertBefore(h, document.getElementById("app"));
}

/** A record's value of column `i`, or a "missing" marker. */
function valueCell(v, other) {
  if (v === null || v === undefined) return el("td", { class: "missing" }, "(missing)");
  return el("td", { class: other !== undefined && other !== v ? "diff" : null }, v);
}

/** The pattern's level description: `name=label; …`. */
function describeLevels(levels) {
  return levels.map((l, c) => DATA.comparisons[c].name + "=" + DATA.comparisons[c].levels[l]).join("; ");
}

/** A compact pattern: one short code per comparison (E exact, the level number otherwise, · null, × else). */
function shortLevels(levels) {
  return levels.map((l, c) => {
    const lab = DATA.comparisons[c].levels[l];
    const code = l === DATA.comparisons[c].null ? "·" : lab === "exact" ? "E" : lab === "else" ? "×" : String(l);
    return el("span", { title: DATA.comparisons[c].name + " = " + lab, class: "lv lv-" + (code === "E" ? "e" : code === "×" ? "x" : code === "·" ? "n" : "p") }, code);
  });
}

/** A waterfall chart: the prior, then each comparison's weight, running total, final weight. */
function waterfallSvg(prior, terms) {
  const rows = [{ name: "prior (λ)", label: "", w: prior }].concat(terms);
  let run = 0;
  const bars = rows.map(r => { const s = run; run += r.w; return { ...r, start: s, end: run }; });
  const total = run;
  const lo = Math.min(0, ...bars.map(b => Math.min(b.start, b.end)));
  const hi = Math.max(0, ...bars.map(b => Math.max(b.start, b.end)));
  const W = 560, left = 230, right = 60, rowH = 20, H = (bars.length + 1) * rowH + 26;
  const x = v => left + (v - lo) / ((hi - lo) || 1) * (W - left - right);
  const g = svg("svg", { width: W, height: H, class: "waterfall", viewBox: `0 0 ${W} ${H}` });
  g.appendChild(svg("line", { x1: x(0), x2: x(0), y1: 4, y2: H - 18, stroke: "#888" }));
  bars.forEach((b, i) => {
    const y = 6 + i * rowH;
    g.appendChild(svg("text", { x: 4, y: y + 13, "font-size": 11 }, b.name + (b.label ? " = " + b.label : "")));
    const x0 = x(Math.min(b.start, b.end)), x1 = x(Math.max(b.start, b.end));
    g.appendChild(svg("rect", { x: x0, y: y + 2, width: Math.max(1, x1 - x0), height: rowH - 5,
      fill: b.w >= 0 ? "#3b8b4c" : "#c0504d" }, svg("title", {}, fmt(b.w, 3) + " bits")));
    g.appendChild(svg("text", { x: x1 + 3, y: y + 13, "font-size": 10 }, (b.w >= 0 ? "+" : "") + fmt(b.w, 2)));
  });
  const y = 6 + bars.length * rowH;
  g.appendChild(svg("text", { x: 4, y: y + 13, "font-size": 11, "font-weight": 600 }, "match weight"));
  g.appendChild(svg("rect", { x: x(Math.min(0, total)), y: y + 2, width: Math.max(1, Math.abs(x(total) - x(0))), height: rowH - 5, fill: "#23395b" }));
  g.appendChild(svg("text", { x: Math.max(x(total), x(0)) + 3, y: y + 13, "font-size": 10, "font-weight": 600, class: "waterfall-total" }, fmt(total, 3)));
  return g;
}

/** Terms of a pattern's waterfall under (m, u): name, level label and weight per comparison. */
function waterfallTerms(lw, levels) {
  return levels.map((l, c) => ({ name: DATA.comparisons[c].name, label: DATA.comparisons[c].levels[l], w: lw[c][l] }));
}
