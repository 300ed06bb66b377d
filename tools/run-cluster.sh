#!/usr/bin/env bash
# A local actorsync cluster on 127.0.0.1 (docs/cluster.md): a throwaway PostgreSQL, a NATS
# cluster of 3 servers and 3 actorsync-server nodes, each in a temporary directory. Installs
# what is missing, builds the server, prints every URL, and stops everything it started on
# Ctrl-C (or when a node dies). The last lines print an actorsync-load command for the cluster
# (its token secret in a file of the temporary directory; docs/load-testing.md).
#
#   tools/run-cluster.sh [NODES] [NATS_SERVERS]     defaults: 3 and 3
#
# Environment: ACTORSYNC_TOKEN_SECRET (default: a development secret printed below),
# LEASE_TIME_MS (default 10000), KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${1:-3}
nats_servers=${2:-3}
lease_ms=${LEASE_TIME_MS:-10000}

./tools/install-deps.sh >/dev/null
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=20G
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DACTORSYNC_WERROR=ON >/dev/null
cmake --build build --target actorsync-server actorsync-token actorsync-load >/dev/null

work=$(mktemp -d /tmp/actorsync-cluster.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "stopping the cluster"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ./tools/nats-test-instance.sh stop "$work/nats" >/dev/null 2>&1 || true
  ./tools/pg-test-instance.sh stop "$work/pg" fast >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
# Ctrl-C or SIGTERM ends the script; the EXIT trap then stops everything.
trap 'exit 130' INT TERM

export ACTORSYNC_TOKEN_SECRET=${ACTORSYNC_TOKEN_SECRET:-actorsync-development-secret-0123456789}
# The same secret for clients that issue their own tokens (actorsync-load --token-secret-file).
(umask 077 && printf '%s\n' "$ACTORSYNC_TOKEN_SECRET" >"$work/secret")
pg_url=$(./tools/pg-test-instance.sh start "$work/pg" $$)
if [ "$nats_servers" -gt 1 ]; then
  nats_urls=$(./tools/nats-test-instance.sh start-cluster "$work/nats" "$nats_servers" $$)
else
  nats_urls=$(./tools/nats-test-instance.sh start "$work/nats" $$)
fi
printf '[cluster]\nlease_time_ms = %s\n' "$lease_ms" >"$work/cluster.toml"

urls=()
for ((i = 0; i < nodes; i++)); do
  log="$work/node-$i.log"
  ./build/server/actorsync-server --config "$work/cluster.toml" --postgres "$pg_url" \
    --node-id "node-$i" --nats "$nats_urls" --ws-port 0 --metrics-port 0 \
    --data-dir "$work/node-$i" >"$log" 2>&1 &
  pids+=($!)
  # The ready line names the ports the node bound.
  for _ in $(seq 1 600); do
    if grep -q "actorsync-server ready" "$log"; then break; fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then cat "$log" >&2; exit 1; fi
    sleep 0.1
  done
  ready=$(grep -m1 "actorsync-server ready" "$log")
  ws=$(sed -E 's/.*ws=([0-9]+).*/\1/' <<<"$ready")
  metrics=$(sed -E 's/.*metrics=([0-9]+).*/\1/' <<<"$ready")
  urls+=("ws://127.0.0.1:$ws")
  echo "node-$i: ws://127.0.0.1:$ws  metrics http://127.0.0.1:$metrics/metrics  log $log"
done

echo "PostgreSQL: $pg_url"
echo "NATS:       $nats_urls"
echo "secret:     ACTORSYNC_TOKEN_SECRET=$ACTORSYNC_TOKEN_SECRET"
echo
echo "load it:    ./build/tools/load/actorsync-load --server-url $(IFS=,; echo "${urls[*]}")" \
  "--token-secret-file $work/secret --workload upload --realms 1000 --writes 20"
echo "Ctrl-C stops everything."
# Stop when any node exits (a crash is shown, not hidden).
# Ctrl-C ends the script in its trap; wait -n returns otherwise only when a node is gone.
wait -n "${pids[@]}" || true
for pid in "${pids[@]}"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "a node exited; see the logs above"
    break
  fi
done
