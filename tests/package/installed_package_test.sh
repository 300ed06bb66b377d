#!/usr/bin/env bash
# Installs the build into a temporary prefix, moves the prefix (the package must be
# relocatable), checks what it holds, then builds two consumers against it as a user would:
# a CMake project (find_package(actorsync), linking actorsync::actorsync, ::server, ::token)
# that syncs a realm between two clients through an embedded server, and a program built with
# pkg-config alone. Finally runs the installed binaries' --help.
# Usage: installed_package_test.sh <build dir> <source dir>
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/staged" >/dev/null
mv "$work/staged" "$work/prefix"
prefix=$work/prefix

for binary in actorsync-server actorsync-token actorsync-load; do
  [[ -x $prefix/bin/$binary ]] || { echo "not installed: bin/$binary" >&2; exit 1; }
  "$prefix/bin/$binary" --help >/dev/null
done
# Public headers include project headers only as <actorsync/...>, so -I<prefix>/include is all
# a consumer needs and no internal header is missing.
if grep -rn '#include "' "$prefix/include/actorsync"; then
  echo "an installed header includes a project header by a plain path" >&2
  exit 1
fi
for internal in api/runtime_bridge.hpp actors/session_actor_state.hpp server/server_messages.hpp \
                actors/connection_manager.hpp actors/sync_error.hpp; do
  if [[ -e $prefix/include/actorsync/$internal ]]; then
    echo "internal header installed: $internal" >&2
    exit 1
  fi
done
if grep -rq -- "$build\|$source" "$prefix/lib/cmake" "$prefix/lib/pkgconfig"; then
  echo "the package records a path of the build machine:" >&2
  grep -rn -- "$build\|$source" "$prefix/lib/cmake" "$prefix/lib/pkgconfig" >&2
  exit 1
fi

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$source/tests/package/consumer" -B "$work/consumer" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer" "$work/run"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046
c++ -O1 -o "$work/local_only" "$source/tests/package/consumer/local_only.cpp" \
  $(pkg-config --cflags --libs actorsync)
"$work/local_only" "$work/local"
