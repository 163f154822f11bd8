#!/usr/bin/env bash
# Renders FEBRL4's report.html in headless Chromium, takes a screenshot, and fails on any console
# error of the page. Installs Debian's chromium when missing (root, apt).
# usage: scripts/check-report.sh [OUT_DIR]   (default: target/report-check)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/report-check}"
mkdir -p "$out"
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
(cd "$root" && cargo run --release -q -- link --dataset febrl4 --report --out "$out/febrl4" -q >/dev/null)
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
log="$out/chromium.log"
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --no-first-run --disable-sync --disable-quic \
  --user-data-dir="$profile" --enable-logging=stderr --v=0 \
  --window-size=1280,6000 --screenshot="$out/report.png" \
  "file://$out/febrl4/report.html" >"$log" 2>&1 || { cat "$log"; echo "chromium failed" >&2; exit 1; }
# Console messages of the page are logged as CONSOLE(...) lines; JavaScript errors as Uncaught.
if grep -E 'CONSOLE|Uncaught|ERR_FILE_NOT_FOUND|net::ERR' "$log" | grep -v 'Fontconfig' ; then
  echo "report.html logged console errors (see $log)" >&2
  exit 1
fi
size=$(stat -c %s "$out/report.png")
if [ "$size" -lt 20000 ]; then
  echo "screenshot $out/report.png is only $size bytes: the page did not render" >&2
  exit 1
fi
echo "report.html rendered with no console errors; screenshot $out/report.png ($size bytes)"
