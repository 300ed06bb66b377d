#!/usr/bin/env bash
# Installs actorsync's build and test dependencies from Debian's packages.
# Idempotent: when every package is already present it only runs dpkg-query.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang
  libcaf-dev libboost-dev libmsgpack-cxx-dev librocksdb-dev libssl-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  libcli11-dev libspdlog-dev libtomlplusplus-dev nlohmann-json3-dev libjwt-dev
  sslscan  # TLS scan of the wss listener (docs/RELIABILITY.md)
  # libFuzzer's runtime (libclang_rt.fuzzer) is only a Recommends of clang-14; xxd converts the
  # golden vectors into fuzzer seeds (tools/fuzz.sh).
  libclang-rt-14-dev xxd
  # The cluster's system of record and its bus between nodes (docs/cluster.md): the tests start
  # their own servers (tools/pg-test-instance.sh, tools/nats-test-instance.sh).
  postgresql libpqxx-dev nats-server libnats-dev
  # Chart.js 3, inlined into actorsync-load's --html report (tools/run-load.sh writes one).
  libjs-chart.js
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
echo "installing: ${missing[*]}"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
