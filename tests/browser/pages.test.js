// Browser checks of fellegi's four pages (issue 18) in headless Debian chromium, through
// puppeteer-core (DevTools protocol). Environment:
//   PAGES_DIR    folder with patterns.html, clusters.html, label.html, lab.html
//   RUN_DIR      the run folder the pages were drawn from (for `fellegi lab --evaluate`)
//   FELLEGI_BIN  the fellegi binary; FELLEGI_INPUT: its input flags, e.g. "--dataset febrl4"
//   SHOTS_DIR    where to write a PNG screenshot of each page (optional)
//   CHROMIUM     the browser (default /usr/bin/chromium)
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const puppeteer = require("puppeteer-core");

const PAGES = process.env.PAGES_DIR;
const RUN = process.env.RUN_DIR || PAGES;
const BIN = process.env.FELLEGI_BIN;
const INPUT = (process.env.FELLEGI_INPUT || "").split(/\s+/).filter(Boolean);
const SHOTS = process.env.SHOTS_DIR;
if (!PAGES || !BIN) { console.error("set PAGES_DIR and FELLEGI_BIN"); process.exit(2); }

const results = [];
async function check(name, f) {
  try { await f(); results.push([name, "ok"]); console.log("ok   " + name); }
  catch (e) { results.push([name, e]); console.log("FAIL " + name + "\n     " + (e && e.stack || e)); }
}

/** Opens a page, collecting console errors and uncaught exceptions. */
async function open(browser, file) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  const errors = [];
  page.on("console", m => { if (m.type() === "error" || m.type() === "warn") errors.push(m.type() + ": " + m.text()); });
  page.on("pageerror", e => errors.push("uncaught: " + e.message));
  page.on("requestfailed", r => errors.push("request failed: " + r.url()));
  const url = "file://" + path.resolve(PAGES, file);
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "load" });
  const ms = Date.now() - t0;
  return { page, errors, ms };
}

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: false });
}

/** fellegi's own numbers for the lab state `s`. */
function fellegiLab(s) {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fellegi-lab-")), "params.json");
  fs.writeFileSync(f, JSON.stringify(s));
  const out = execFileSync(BIN, ["lab", RUN, ...INPUT, "-q", "--evaluate", f], { encoding: "utf8" });
  return JSON.parse(out);
}

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "fellegi-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    userDataDir: profile,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    for (const file of ["patterns.html", "clusters.html", "label.html", "lab.html"]) {
      await check(`${file} loads with no console error`, async () => {
        const size = fs.statSync(path.join(PAGES, file)).size;
        const { page, errors, ms } = await open(browser, file);
        await new Promise(r => setTimeout(r, 300));
        console.log(`     ${file}: ${(size / 1e6).toFixed(3)} MB, loaded in ${ms} ms`);
        assert.deepEqual(errors, []);
        assert.ok(size <= 2e6, `${file} is ${size} bytes, over 2 MB`);
        if (file === "clusters.html") await shot(page, "clusters.png");
        await page.close();
      });
    }

    await check("patterns: a click on a pattern shows its pairs and a waterfall that sums to its weight", async () => {
      const { page, errors } = await open(browser, "patterns.html");
      assert.equal(await page.$$eval("#detail .example-pair", e => e.length), 0);
      await page.click(".pattern-row");
      const n = await page.$$eval("#detail .example-pair", e => e.length);
      assert.ok(n >= 1, "no example pair shown after the click");
      const idx = await page.$eval(".pattern-row.selected", e => Number(e.dataset.index));
      const total = await page.$eval("#detail .waterfall-total", e => Number(e.textContent));
      const w = await page.evaluate(i => window.fellegiViewer.weightOf(i), idx);
      assert.ok(Math.abs(total - w) < 1e-3, `waterfall total ${total} != bar weight ${w}`);
      // Filtering by a level keeps only the patterns at that level.
      await page.select('.level-filter[data-comparison="0"]', "1");
      const shown = await page.$$eval(".pattern-row", e => e.length);
      assert.ok(shown >= 1);
      await page.select('.level-filter[data-comparison="0"]', "any");
      await page.click(".pattern-row");
      await shot(page, "patterns.png");
      assert.deepEqual(errors, []);
      await page.close();
    });

    await check("label: keypresses land in the exported labels.csv", async () => {
      const { page, errors } = await open(browser, "label.html");
      const first = await page.$$eval("#pair-view thead th", e => e.slice(1).map(x => x.textContent));
      await page.keyboard.press("m");
      const second = await page.$$eval("#pair-view thead th", e => e.slice(1).map(x => x.textContent));
      await page.keyboard.press("n");
      await page.keyboard.press("u");
      const href = await page.$eval("#export", e => e.getAttribute("href"));
      const csv = decodeURIComponent(href.replace(/^data:text\/csv;charset=utf-8,/, ""));
      const lines = csv.trim().split("\n");
      assert.equal(lines[0], "source_dataset_l,unique_id_l,source_dataset_r,unique_id_r,clerical_match_score");
      const row = (pair, score) => pair.map(k => k.split(":")).flat().join(",") + "," + score;
      assert.ok(lines.includes(row(first, 1)), `no match row for ${first} in\n${csv}`);
      assert.ok(lines.includes(row(second, 0)), `no non-match row for ${second} in\n${csv}`);
      assert.equal(lines.length, 3, "the unsure pair must be left out");
      fs.writeFileSync(path.join(RUN, "labels-from-browser.csv"), csv);
      await shot(page, "label.png");
      assert.deepEqual(errors, []);
      await page.close();
    });

    await check("lab: moving a slider changes F1 to the value fellegi computes", async () => {
      const { page, errors } = await open(browser, "lab.html");
      const f1Before = await page.evaluate(() => window.fellegiLab.result().metrics.f1);
      const rustBefore = fellegiLab(await page.evaluate(() => window.fellegiLab.state()));
      assert.equal(rustBefore.metrics.f1, f1Before);
      // Raise the threshold by 12 bits with the keyboard (step 0.1 bit per key press), then
      // lower λ by 0.5 in log10.
      await page.focus("#threshold");
      for (let i = 0; i < 120; i++) await page.keyboard.press("ArrowRight");
      await page.focus("#lambda");
      for (let i = 0; i < 50; i++) await page.keyboard.press("ArrowLeft");
      const state = await page.evaluate(() => window.fellegiLab.state());
      const res = await page.evaluate(() => window.fellegiLab.result());
      assert.notEqual(res.metrics.f1, f1Before, "F1 did not change");
      const rust = fellegiLab(state);
      console.log(`     F1 ${f1Before} -> page ${res.metrics.f1}, fellegi ${rust.metrics.f1}`);
      assert.ok(Math.abs(rust.metrics.f1 - res.metrics.f1) <= 1e-12, `page F1 ${res.metrics.f1} != fellegi ${rust.metrics.f1}`);
      assert.equal(rust.links, res.links);
      assert.equal(rust.review, res.review);
      assert.equal(await page.$eval("#f1", e => e.textContent), rust.metrics.f1.toFixed(4));
      // Reset to the oracle, then to EM: F1 back to where it started.
      if (await page.$("#reset-oracle")) {
        await page.click("#reset-oracle");
        const o = await page.evaluate(() => ({ s: window.fellegiLab.state(), r: window.fellegiLab.result() }));
        assert.ok(Math.abs(fellegiLab(o.s).metrics.f1 - o.r.metrics.f1) <= 1e-12);
      }
      await page.click("#reset-em");
      const em = await page.evaluate(() => window.fellegiLab.state());
      // The EM replay steps through the fitted trace: its first step (the starting values)
      // scores as fellegi scores it, and its last step is the EM estimate again.
      await page.click("#replay-first");
      const first = await page.evaluate(() => ({ s: window.fellegiLab.state(), r: window.fellegiLab.result() }));
      assert.notDeepEqual(first.s.m, em.m, "the replay's first step is the fitted m");
      assert.ok(Math.abs(fellegiLab(first.s).metrics.f1 - first.r.metrics.f1) <= 1e-12);
      assert.match(await page.$eval("#replay-info", e => e.textContent), /starting values/);
      await page.click("#replay-next");
      assert.match(await page.$eval("#replay-info", e => e.textContent), /iteration 1 of/);
      await page.click("#replay-last");
      const last = await page.evaluate(() => window.fellegiLab.state());
      assert.deepEqual([last.lambda, last.m, last.u], [em.lambda, em.m, em.u], "the replay does not end at the EM estimate");
      await page.click("#reset-em");
      await page.click("#tour-start");
      await page.click("#tour-next");
      await shot(page, "lab.png");
      assert.deepEqual(errors, []);
      await page.close();
    });
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  const failed = results.filter(r => r[1] !== "ok");
  console.log(`${results.length - failed.length} of ${results.length} browser checks passed`);
  process.exit(failed.length ? 1 : 0);
})().catch(e => { console.error(e); process.exit(1); });
