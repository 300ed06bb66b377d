#!/usr/bin/env bash
# The README's main job: installs dependencies, builds actorsync-load and the server, and runs
# an upload workload against an embedded server (a child process on 127.0.0.1) with live
# progress, a final table, load-report.json and load-report.html.
# Extra arguments go to actorsync-load (e.g. --workload idle --realms 10000).
set -euo pipefail
cd "$(dirname "$0")/.."

./tools/install-deps.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=20G
# The same flags as tools/run-tests.sh, so both share one build directory without rebuilding.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DACTORSYNC_WERROR=ON
cmake --build build --target actorsync-load actorsync-server
exec ./build/tools/load/actorsync-load --workload upload --realms 5000 --writes 20 \
  --json load-report.json --html load-report.html "$@"
