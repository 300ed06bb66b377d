#!/usr/bin/env bash
# A soak of the server: the churn workload (1,000 realms on two replicas writing, pausing,
# resuming and reopening at random) against actorsync-server as a child process for MINUTES
# minutes (default 7), then the usual settling and convergence check. The report samples the
# server process's resident memory every 5 s and prints it as a table (start, every minute, end,
# peak and growth); the whole report goes to build/soak/ (soak.log, soak-report.json and, when
# Chart.js is installed, soak-report.html with the memory chart).
#
#   tools/soak.sh [MINUTES] [actorsync-load options...]
#
# Extra options go to actorsync-load and override the defaults here (e.g. --realms 200,
# --keep-data to look at the server's RocksDB files afterwards). Exit status: actorsync-load's
# (0 when every write was acknowledged and the replicas converged). Not part of the test
# suite; results in docs/RELIABILITY.md. On a shared machine run it under the build lock, so
# no build disturbs the measurement: flock /tmp/actorsync-build.lock tools/soak.sh 7
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-7}"
if ! [[ "$minutes" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: tools/soak.sh [MINUTES] [actorsync-load options...]" >&2
  exit 2
fi
shift $(($# > 0 ? 1 : 0))

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=20G
# The same flags as tools/run-tests.sh and tools/run-load.sh (one shared build directory).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DACTORSYNC_WERROR=ON >/dev/null
cmake --build build --target actorsync-load actorsync-server

out=build/soak
mkdir -p "$out"
html=()
if [ -f /usr/share/javascript/chart.js/chart.min.js ]; then html=(--html "$out/soak-report.html"); fi

# --writes 1000000 per realm and replica: far more steps than fit in the duration, so the
# writers run until --max-duration stops them.
set +e
./build/tools/load/actorsync-load --workload churn --realms 1000 --writes 1000000 \
  --server-binary build/server/actorsync-server --max-duration $((minutes * 60)) \
  --json "$out/soak-report.json" "${html[@]}" "$@" | tee "$out/soak.log"
status=${PIPESTATUS[0]}
set -e

echo
echo "soak of $minutes min: the server's resident memory (RSS from /proc, every 5 s)"
grep -E '^  server RSS [^ ]+ \(pid |^    at [0-9.]+ s ' "$out/soak.log" || echo "  (no samples)"
echo "report: $out/soak-report.json${html:+ and $out/soak-report.html}, log: $out/soak.log"
exit "$status"
