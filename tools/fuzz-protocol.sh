#!/usr/bin/env bash
# Builds the protocol decoder fuzzer in build-fuzz/ (clang, libFuzzer + ASan), seeds it from the
# golden vectors and the committed corpus, and fuzzes in one process for N seconds.
# Usage: tools/fuzz-protocol.sh [seconds, default 600]
#   MERGE=1 tools/fuzz-protocol.sh   picks a small corpus from the runs into tests/fuzz/corpus/protocol
# The working corpus, crash artifacts and the log stay in build-fuzz/fuzz-protocol/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
work=build-fuzz/fuzz-protocol
committed=tests/fuzz/corpus/protocol
fuzzer=build-fuzz/tests/fuzz/protocol_fuzzer

cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DACTORSYNC_FUZZ=ON -DACTORSYNC_BENCH=OFF >/dev/null
flock /tmp/actorsync-build.lock cmake --build build-fuzz -j2 --target protocol_fuzzer

mkdir -p "$work/seeds" "$work/corpus" "$committed"
for hex in tests/protocol/golden/*.hex; do
  grep -v '^#' "$hex" | xxd -r -p >"$work/seeds/$(basename "$hex" .hex)"
done

if [[ "${MERGE:-0}" == 1 ]]; then
  # Keep the committed corpus to a few dozen files: a greedy cover of the coverage edges of
  # everything found so far (merge control file, edge coverage only), at most 48 inputs.
  rm -rf "$work/merged" "$work/picked" "$work/merge.ctl" && mkdir -p "$work/merged" "$work/picked"
  "$fuzzer" -merge=1 -use_counters=0 -merge_control_file="$work/merge.ctl" \
    "$work/merged" "$work/seeds" "$work/corpus" "$committed" 2>&1 | tail -1
  tools/fuzz-corpus-pick.py "$work/merge.ctl" 48 | while read -r input; do
    cp "$input" "$work/picked/$(sha1sum <"$input" | cut -c1-40)"
  done
  rm -f "$committed"/* && cp "$work/picked/"* "$committed/"
  echo "committed corpus: $(ls "$committed" | wc -l) files"
  exit 0
fi

# One process (no -jobs/-workers) so concurrent builds keep a core.
"$fuzzer" "$work/corpus" "$work/seeds" "$committed" \
  -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/" 2>&1 | tee "$work/fuzz.log" | grep -E '^#[0-9]+.*(pulse|DONE)|^stat::|ERROR|SUMMARY|Test unit written' || true
