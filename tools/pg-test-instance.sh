#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for tests and local clusters, on 127.0.0.1 with its socket in DIR.
#
#   tools/pg-test-instance.sh start DIR [PID]  initdb (first time) + start; prints the URL;
#                                              with PID, an immediate stop once PID is gone
#   tools/pg-test-instance.sh stop DIR [MODE]  pg_ctl stop -m MODE (fast | immediate); default fast
#
# A second start reuses DIR's data and port (crash tests stop with "immediate" and start again).
# initdb refuses to run as root: as root, the server runs as the postgres user and DIR is
# handed to it. Exit code 3: the PostgreSQL binaries are missing (tests skip on it).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
command=${1:-}
dir=${2:-}
owner=${3:-}
if [ -z "$command" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR [fast|immediate]" >&2
  exit 2
fi

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
    echo "PostgreSQL 15 binaries not found in $PG_BIN: apt-get install postgresql" >&2
    exit 3
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  chmod 700 "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    # --no-sync only skips flushing initdb's own files; the server itself runs with fsync on.
    as_postgres "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C \
      --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  local tries=0 port
  while :; do
    if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); else port=$((20000 + RANDOM % 40000)); fi
    if as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null; then
      as_postgres sh -c "echo $port > '$dir/port'"
      break
    fi
    tries=$((tries + 1))
    # A taken port is the only failure worth another try (a fresh port each time).
    if [ -f "$dir/port" ] || [ $tries -ge 10 ] || ! grep -q "could not bind" "$dir/server.log"; then
      echo "PostgreSQL did not start; its log ($dir/server.log):" >&2
      tail -20 "$dir/server.log" >&2
      exit 1
    fi
  done
  if [ -n "$owner" ]; then
    # A watchdog, so that a test killed by its timeout leaves no server behind. Detached, with
    # no inherited output: whoever reads this script's stdout sees its end.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" stop "$3" immediate' \
      watchdog "$owner" "$(readlink -f "$0")" "$dir" </dev/null >/dev/null 2>&1 &
  fi
  echo "postgresql://postgres@127.0.0.1:$port/postgres"
}

stop() {
  local mode=${1:-fast}
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null
  fi
}

case "$command" in
  start) start ;;
  stop) stop "${owner:-fast}" ;;
  *) echo "unknown command: $command" >&2; exit 2 ;;
esac
