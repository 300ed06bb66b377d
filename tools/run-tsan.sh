#!/usr/bin/env bash
# Builds the ThreadSanitizer configuration (build-tsan/) and runs the test suite in it with the
# suppressions of tools/tsan.supp. Any TSan report fails its test (exit code 66).
# Usage: tools/run-tsan.sh [ctest label regex, default: every label]
#   BUILD_LOCK=/tmp/actorsync-build.lock tools/run-tsan.sh "server|api"   # build under flock
# Not part of .ci/run (CI time budget); results: docs/RELIABILITY.md, "Sanitizer coverage".
set -euo pipefail
cd "$(dirname "$0")/.."

labels=${1:-}
build_dir=build-tsan
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACTORSYNC_TSAN=ON \
  -DACTORSYNC_BENCH=OFF -DACTORSYNC_WERROR=ON
if [[ -n ${BUILD_LOCK:-} ]]; then
  flock "$BUILD_LOCK" cmake --build "$build_dir" -j2
else
  cmake --build "$build_dir" -j2
fi

# halt_on_error=0: a test reports every race it meets, then fails at exit (exitcode 66).
# Child processes (the server binary the fault tests start) inherit these options.
export TSAN_OPTIONS="suppressions=$PWD/tools/tsan.supp halt_on_error=0 exitcode=66 \
second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}"
args=(--test-dir "$build_dir" --output-on-failure -j2)
[[ -n $labels ]] && args+=(-L "$labels")
ctest "${args[@]}"
