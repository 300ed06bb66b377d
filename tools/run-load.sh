#!/usr/bin/env bash
# The README's main job: installs dependencies, builds actorsync-load and the server, and runs
# an upload workload against an embedded server (a child process on 127.0.0.1) with live
# progress, a final table, load-report.json and load-report.html.
# Extra arguments go to actorsync-load and override the defaults here (e.g. --workload idle
# --realms 10000); the 5,000 realms x 20 writes apply to the upload workload only, the others
# keep the tool's own defaults (fanout: 500 realms, about a minute; docs/load-testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/install-deps.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=20G
# The same flags as tools/run-tests.sh, so both share one build directory without rebuilding.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DACTORSYNC_WERROR=ON
cmake --build build --target actorsync-load actorsync-server
workload=upload
previous=""
for arg in "$@"; do
  if [ "$previous" = --workload ]; then workload="$arg"; fi
  case "$arg" in --workload=*) workload="${arg#--workload=}" ;; esac
  previous="$arg"
done
defaults=()
if [ "$workload" = upload ]; then defaults=(--realms 5000 --writes 20); fi
exec ./build/tools/load/actorsync-load --workload upload "${defaults[@]}" \
  --json load-report.json --html load-report.html "$@"
