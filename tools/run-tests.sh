#!/usr/bin/env bash
# Installs dependencies, configures, builds and runs the whole test suite.
# Usage: tools/run-tests.sh [build-dir] [extra cmake arguments...]
# Extra ctest arguments can be passed in CTEST_ARGS (e.g. CTEST_ARGS="-L protocol").
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
shift || true

./tools/install-deps.sh
# ccache hits across clones: paths inside the checkout are hashed relative to it.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=20G
# -O2 without debug info: the suite's build time is dominated by CAF/Beast templates, and
# debug info roughly doubles it. Configure your own build directory with -g for debugging.
# Warnings are errors here (developers and CI), not in a user's plain CMake build.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DACTORSYNC_WERROR=ON "$@"
cmake --build "$build_dir"
# shellcheck disable=SC2086
ctest --test-dir "$build_dir" --output-on-failure -j2 ${CTEST_ARGS:-}
