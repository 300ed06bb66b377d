#!/usr/bin/env bash
# Builds a libFuzzer target in build-fuzz/ (clang, libFuzzer + ASan, -O1 with line tables),
# seeds it from the committed corpus (and, for the decoder, the golden vectors) and fuzzes in
# one process for N seconds. Exits non-zero on a finding (crash, sanitizer report, timeout,
# property violation); the input is saved as build-fuzz/fuzz-TARGET/crash-* (or timeout-*, ...).
# Usage: tools/fuzz.sh TARGET [seconds, default 600]
#   TARGET: protocol (protocol_fuzzer: the frame decoders) or
#           server   (server_connection_fuzzer: the server's per-connection state machine)
#   MERGE=1 tools/fuzz.sh TARGET   picks a small corpus from the runs into tests/fuzz/corpus/TARGET
# The working corpus, artifacts and the log stay in build-fuzz/fuzz-TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: tools/fuzz.sh protocol|server [seconds]}
seconds=${2:-600}
case "$target" in
  protocol)
    binary=protocol_fuzzer
    keep=48
    # Inputs are single frames; each takes microseconds.
    options=(-max_len=4096 -timeout=30 -rss_limit_mb=2048)
    ;;
  server)
    binary=server_connection_fuzzer
    keep=64
    # Each input is a real connection to an in-process server: the fuzzer waits up to 30 s for
    # an answer and up to 60 s for the gauges, so only a hung server reaches -timeout. Per-input
    # leak checks are off: the server's threads allocate across inputs (LSan still runs at exit).
    # At a few hundred inputs per second libFuzzer's slow growth of the input length would keep
    # scripts to a step or two for most of a run: allow the full length from the start.
    options=(-max_len=4096 -len_control=0 -timeout=180 -rss_limit_mb=4096 -detect_leaks=0)
    ;;
  *)
    echo "unknown fuzz target '$target' (protocol or server)" >&2
    exit 2
    ;;
esac
work=build-fuzz/fuzz-$target
committed=tests/fuzz/corpus/$target
fuzzer=build-fuzz/tests/fuzz/$binary

./tools/install-deps.sh
# ccache hits across clones: paths inside the checkout are hashed relative to it.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}
# Assertions stay on (no -DNDEBUG); line tables are enough for symbolized stack traces and cost
# far less build time than full debug info.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" -DACTORSYNC_FUZZ=ON \
  -DACTORSYNC_BENCH=OFF -DACTORSYNC_WERROR=ON >/dev/null
# The build lock (shared by everyone building on this machine) only when there is work to do.
if ! cmake --build build-fuzz --target "$binary" -- -n | grep -q 'no work to do'; then
  flock /tmp/actorsync-build.lock cmake --build build-fuzz -j2 --target "$binary"
fi

mkdir -p "$work/seeds" "$work/corpus" "$committed"
if [[ "$target" == protocol ]]; then
  for hex in tests/protocol/golden/*.hex; do
    grep -v '^#' "$hex" | xxd -r -p >"$work/seeds/$(basename "$hex" .hex)"
  done
fi

if [[ "${MERGE:-0}" == 1 ]]; then
  # Keep the committed corpus small: a greedy cover of the coverage edges of everything found
  # so far (merge control file, edge coverage only), at most $keep inputs.
  rm -rf "$work/merged" "$work/picked" "$work/merge.ctl" && mkdir -p "$work/merged" "$work/picked"
  "$fuzzer" -merge=1 -use_counters=0 -merge_control_file="$work/merge.ctl" "${options[@]}" \
    "$work/merged" "$work/seeds" "$work/corpus" "$committed" 2>&1 | tail -1
  tools/fuzz-corpus-pick.py "$work/merge.ctl" "$keep" | while read -r input; do
    cp "$input" "$work/picked/$(sha1sum <"$input" | cut -c1-40)"
  done
  rm -f "$committed"/* && cp "$work/picked/"* "$committed/"
  echo "committed corpus: $(ls "$committed" | wc -l) files, $(du -sh "$committed" | cut -f1)"
  exit 0
fi

# One process (no -jobs/-workers) so concurrent builds keep a core. New inputs go to the first
# directory ($work/corpus), never into the committed corpus.
set +e
"$fuzzer" "$work/corpus" "$work/seeds" "$committed" -max_total_time="$seconds" "${options[@]}" \
  -print_final_stats=1 -artifact_prefix="$work/" 2>&1 | tee "$work/fuzz.log" |
  grep --line-buffered -E '^#[0-9]+.*(pulse|DONE)|^stat::|ERROR|SUMMARY|finding|Test unit written'
status=${PIPESTATUS[0]}
set -e
if [[ $status -ne 0 ]]; then
  echo "fuzz $target: FINDING (exit $status); log: $work/fuzz.log" >&2
  exit "$status"
fi
echo "fuzz $target: no findings in $seconds s"
