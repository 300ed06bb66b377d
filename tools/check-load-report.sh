#!/usr/bin/env bash
# Checks actorsync-load's HTML report in headless Chromium: the page draws its five charts (six
# when the run sampled the memory of a server it started) with data (the page marks <body> with data-ready, data-charts and data-nonempty after drawing, and
# each <canvas> with data-points and data-painted), and a screenshot is produced.
#
#   tools/check-load-report.sh [REPORT.html [SCREENSHOT.png]]
#
# Without a report it builds actorsync-load and writes one from a short upload run (about 5 s)
# into build/load-report-check/. Installs Debian's chromium on demand (not part of
# tools/install-deps.sh: CI does not need it). Exit status 0 when the check passes.
set -euo pipefail
cd "$(dirname "$0")/.."

report="${1:-}"
screenshot="${2:-}"

if [ -z "$report" ]; then
  ./tools/install-deps.sh
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=20G
  # The same flags as tools/run-tests.sh and tools/run-load.sh (one shared build directory).
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DACTORSYNC_WERROR=ON
  cmake --build build --target actorsync-load actorsync-server
  mkdir -p build/load-report-check
  report=build/load-report-check/load-report.html
  # 100 realms x 50 writes at 1,000 writes/s: several timeline points for every chart.
  ./build/tools/load/actorsync-load --workload upload --realms 100 --writes 50 --rate 1000 \
    --json build/load-report-check/load-report.json --html "$report" >/dev/null
fi
[ -f "$report" ] || {
  echo "check-load-report: no such report: $report" >&2
  exit 2
}
screenshot="${screenshot:-${report%.html}.png}"

browser=""
for candidate in chromium chromium-browser; do
  if command -v "$candidate" >/dev/null; then
    browser="$candidate"
    break
  fi
done
if [ -z "$browser" ]; then
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  echo "check-load-report: installing Debian's chromium"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium
  browser=chromium
fi

url="file://$(realpath "$report")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# --no-sandbox: the sandbox refuses to run as root (containers, CI). A private profile
# directory keeps the check away from any user profile. Nothing is fetched: the page is
# self-contained.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
  --user-data-dir="$work/profile" --virtual-time-budget=10000 "--window-size=1200,3100")

if ! timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" >"$work/dom.html" 2>"$work/dom.err"; then
  echo "check-load-report: $browser could not load the page:" >&2
  tail -5 "$work/dom.err" >&2
  exit 1
fi
timeout 120 "$browser" "${flags[@]}" --screenshot="$(realpath -m "$screenshot")" "$url" \
  >/dev/null 2>"$work/shot.err" || true

body="$(grep -o '<body[^>]*>' "$work/dom.html" | head -1 || true)"
attribute() { sed -n "s/.* $1=\"\\([^\"]*\\)\".*/\\1/p" <<<"$2"; }
ready="$(attribute data-ready "$body")"
charts="$(attribute data-charts "$body")"
nonempty="$(attribute data-nonempty "$body")"
# The latency charts of a workload that measures no latency (idle, churn) are empty by design.
expected_empty="$(attribute data-expected-empty "$body")"
error="$(attribute data-error "$body")"

status=0
echo "report:     $report"
grep -o '<canvas[^>]*>' "$work/dom.html" | while read -r canvas; do
  id="$(attribute id "$canvas")"
  note=""
  if [ "$(attribute data-expected-empty "$canvas")" = true ]; then
    note=" (empty: the workload measures no latency)"
  fi
  echo "  chart ${id}: $(attribute data-points "$canvas") points," \
    "$(attribute data-painted "$canvas") painted pixels$note"
done
if [ -n "$error" ]; then
  echo "check-load-report: the page's script failed: $error" >&2
  status=1
fi
if [ "$ready" != "true" ] || [ "${charts:-0}" -lt 5 ] ||
  [ $((${nonempty:-0} + ${expected_empty:-0})) -ne "${charts:-0}" ]; then
  echo "check-load-report: charts not drawn (data-ready='$ready' data-charts='$charts'" \
    "data-nonempty='$nonempty' data-expected-empty='$expected_empty'; expected ready, at least 5 charts," \
    "all non-empty but for latency charts of workloads without latency)" >&2
  status=1
fi
if grep -qiE '<(script|link|img)[^>]+(src|href)=' "$report"; then
  echo "check-load-report: the page refers to an outside resource" >&2
  status=1
fi
size="$(stat -c %s "$screenshot" 2>/dev/null || echo 0)"
if [ "$size" -lt 20000 ]; then
  echo "check-load-report: no screenshot at $screenshot (size $size bytes)" >&2
  tail -5 "$work/shot.err" >&2
  status=1
fi
echo "screenshot: $screenshot ($size bytes)"
[ "$status" -eq 0 ] &&
  echo "check-load-report: ok ($charts charts: $nonempty with data, ${expected_empty:-0} empty by design)"
exit "$status"
