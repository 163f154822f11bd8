#!/usr/bin/env bash
# Issue 18: builds FEBRL4's four review and teaching pages (fellegi link --report) and runs the
# browser checks in tests/browser (puppeteer-core driving Debian's headless chromium): no console
# error on any page, a click on a pattern shows its pairs, a label keypress lands in the exported
# labels.csv (which `fellegi evaluate --labels` then reads back), moving a lab slider changes F1 to
# the value `fellegi lab --evaluate` computes. Screenshots go to OUT_DIR/shots.
# Installs chromium (apt) and the npm packages (npm ci, from the committed package-lock.json).
# usage: scripts/check-pages.sh [OUT_DIR]   (default: target/pages-check)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/pages-check}"
mkdir -p "$out"
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
(cd "$root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
(cd "$root" && cargo build --release -q --bin fellegi)
bin="${CARGO_TARGET_DIR:-$root/target}/release/fellegi"
rm -rf "$out/febrl4"
"$bin" link --dataset febrl4 --report --out "$out/febrl4" -q >/dev/null
PAGES_DIR="$out/febrl4" RUN_DIR="$out/febrl4" FELLEGI_BIN="$bin" FELLEGI_INPUT="--dataset febrl4" \
  SHOTS_DIR="$out/shots" node "$root/tests/browser/pages.test.js"
# The labels the browser exported go back into fellegi.
"$bin" evaluate --pairs "$out/febrl4/pairs.csv" --labels "$out/febrl4/labels-from-browser.csv" \
  --dataset febrl4 --out "$out/labels-eval" >/dev/null
echo "pages checked in chromium; screenshots in $out/shots; labels read back by fellegi evaluate"
