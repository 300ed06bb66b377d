#!/usr/bin/env bash
# Throwaway NATS servers for tests and local clusters, on 127.0.0.1 with free ports, state in DIR.
#
#   tools/nats-test-instance.sh start DIR [PID]            one server; prints its URL
#   tools/nats-test-instance.sh start-cluster DIR N [PID]  N servers routed together as one NATS
#                                                          cluster; prints their URLs, comma-separated,
#                                                          once every server has its N-1 routes
#   tools/nats-test-instance.sh stop DIR                   stops every server of DIR
#   tools/nats-test-instance.sh stop-member DIR I [SIG]    kills member I (0-based; SIGKILL unless
#                                                          SIG is given, e.g. TERM) and waits for it
#   tools/nats-test-instance.sh start-member DIR I         starts member I again (same ports),
#                                                          routed to the members running now
#
# With PID, a watchdog stops the servers once PID is gone (a test killed by its timeout leaves
# nothing behind). Member I keeps its files in DIR/I (server.log, ports). Waits poll the ports
# with a bounded deadline. Exit code 3: nats-server is missing (tests skip on it); 1: a server did
# not start (its log goes to stderr); 2: usage.
set -euo pipefail

NATS_SERVER=${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}
command=${1:-}
dir=${2:-}
usage() {
  echo "usage: $0 start DIR [PID] | start-cluster DIR N [PID] | stop DIR |" \
    "stop-member DIR I [SIGNAL] | start-member DIR I" >&2
  exit 2
}
if [ -z "$command" ] || [ -z "$dir" ]; then usage; fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nothing listens on and not in the list given (the ports chosen so far).
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    case " $* " in *" $port "*) continue ;; esac
    if ! port_open "$port"; then echo "$port"; return; fi
  done
}

# The number of routes member I reports on its monitoring port (0 when it does not answer).
routes_of() {
  local reply
  reply=$({ exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf 'GET /routez HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && timeout 2 cat <&3; } 2>/dev/null) || true
  local n
  n=$(printf '%s' "$reply" | sed -n 's/.*"num_routes": *\([0-9][0-9]*\).*/\1/p' | head -1)
  echo "${n:-0}"
}

# Waits (20 s at most) until member I reports N-1 routes; a member without a monitoring port is
# not clustered.
wait_routes() {
  local i=$1 n=$2 tries=0
  [ -f "$dir/$i/monitor_port" ] || return 0
  while [ "$(routes_of "$(cat "$dir/$i/monitor_port")")" -lt $((n - 1)) ]; do
    tries=$((tries + 1))
    if [ $tries -ge 400 ]; then
      echo "the NATS cluster did not form: member $i has fewer than $((n - 1)) routes" >&2
      tail -20 "$dir/$i/server.log" >&2
      return 1
    fi
    sleep 0.05  # polling interval
  done
}

member_count() { find "$dir" -mindepth 2 -maxdepth 2 -name args | wc -l; }
# Members running now (a restarted member can route only to these).
running_count() {
  local n=0 i
  for ((i = 0; i < $(member_count); i++)); do
    if member_running "$i"; then n=$((n + 1)); fi
  done
  echo "$n"
}

# Running and not a zombie: an exited server stays a zombie until whoever inherited it (this
# script's parent is gone) reaps it, which can take seconds.
member_running() {
  local stat
  [ -f "$dir/$1/pid" ] || return 1
  stat=$(cat "/proc/$(cat "$dir/$1/pid")/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Starts member I from its saved arguments; 0 once its client port accepts connections, 1 when
# it exited (DIR/I/bind_failed when the port was taken), after 20 s at most.
launch() {
  local i=$1 member="$dir/$1"
  rm -f "$member/bind_failed"
  local args
  mapfile -t args <"$member/args"
  setsid "$NATS_SERVER" "${args[@]}" </dev/null >>"$member/server.log" 2>&1 &
  echo $! >"$member/pid"
  local port tries=0
  port=$(cat "$member/port")
  while ! port_open "$port"; do
    if ! member_running "$i"; then
      if grep -q "address already in use" "$member/server.log"; then touch "$member/bind_failed"; fi
      return 1
    fi
    tries=$((tries + 1))
    if [ $tries -ge 400 ]; then return 1; fi
    sleep 0.05  # polling interval
  done
}

stop_member() {
  local i=$1 signal=${2:-KILL} tries=0
  member_running "$i" || return 0
  kill "-$signal" "$(cat "$dir/$i/pid")" 2>/dev/null || true
  while member_running "$i"; do
    tries=$((tries + 1))
    if [ $tries -eq 200 ]; then kill -KILL "$(cat "$dir/$i/pid")" 2>/dev/null || true; fi
    if [ $tries -ge 400 ]; then echo "member $i did not stop" >&2; return 1; fi
    sleep 0.05  # polling interval
  done
}

stop_all() {
  local member
  for member in "$dir"/*/; do
    [ -f "$member/pid" ] && stop_member "$(basename "$member")" TERM
  done
  return 0
}

# start_members N CLUSTERED: fresh ports for every member, all started, retried (up to 5 times)
# only when a port was taken meanwhile.
start_members() {
  local n=$1 clustered=$2 attempt i
  if [ ! -x "$NATS_SERVER" ]; then
    echo "nats-server not found ($NATS_SERVER): apt-get install nats-server" >&2
    exit 3
  fi
  mkdir -p "$dir"
  for attempt in 1 2 3 4 5; do
    local ports=() cluster_ports=() monitor_ports=() taken=()
    for ((i = 0; i < n; i++)); do
      ports[i]=$(free_port "${taken[@]}"); taken+=("${ports[i]}")
      cluster_ports[i]=$(free_port "${taken[@]}"); taken+=("${cluster_ports[i]}")
      monitor_ports[i]=$(free_port "${taken[@]}"); taken+=("${monitor_ports[i]}")
    done
    for ((i = 0; i < n; i++)); do
      local member="$dir/$i"
      mkdir -p "$member"
      echo "${ports[i]}" >"$member/port"
      local args=(-a 127.0.0.1 -p "${ports[i]}" -n "actorsync-test-$i" -l "$member/server.log")
      if [ "$clustered" = yes ]; then
        local routes="" j
        for ((j = 0; j < n; j++)); do
          [ "$j" -eq "$i" ] || routes+="${routes:+,}nats://127.0.0.1:${cluster_ports[j]}"
        done
        echo "${monitor_ports[i]}" >"$member/monitor_port"
        args+=(-m "${monitor_ports[i]}" --cluster_name actorsync-test
          --cluster "nats://127.0.0.1:${cluster_ports[i]}" --routes "$routes")
      fi
      printf '%s\n' "${args[@]}" >"$member/args"
    done
    local failed=no retry=no
    for ((i = 0; i < n; i++)); do
      if ! launch "$i"; then
        failed=yes
        if [ -f "$dir/$i/bind_failed" ]; then retry=yes; fi
        break
      fi
    done
    if [ $failed = no ]; then break; fi
    stop_all
    if [ $retry = no ] || [ "$attempt" -eq 5 ]; then
      echo "nats-server did not start; its log ($dir/$i/server.log):" >&2
      tail -20 "$dir/$i/server.log" >&2
      exit 1
    fi
  done
  for ((i = 0; i < n; i++)); do
    if ! wait_routes "$i" "$n"; then stop_all; exit 1; fi
  done
  local owner=${3:-}
  if [ -n "$owner" ]; then
    # A watchdog, detached, with no inherited output: whoever reads this script's stdout sees
    # its end.
    # shellcheck disable=SC2016  # expanded by the watchdog's shell
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" stop "$3"' \
      watchdog "$owner" "$(readlink -f "$0")" "$dir" </dev/null >/dev/null 2>&1 &
  fi
  local urls=""
  for ((i = 0; i < n; i++)); do urls+="${urls:+,}nats://127.0.0.1:$(cat "$dir/$i/port")"; done
  echo "$urls"
}

case "$command" in
  start) start_members 1 no "${3:-}" ;;
  start-cluster)
    [[ "${3:-}" =~ ^[1-9][0-9]*$ ]] || usage
    start_members "$3" yes "${4:-}"
    ;;
  stop) stop_all ;;
  stop-member)
    if [ -z "${3:-}" ] || [ ! -d "$dir/$3" ]; then usage; fi
    stop_member "$3" "${4:-KILL}"
    ;;
  start-member)
    if [ -z "${3:-}" ] || [ ! -f "$dir/$3/args" ]; then usage; fi
    if ! member_running "$3" && ! launch "$3"; then
      echo "member $3 did not start; its log ($dir/$3/server.log):" >&2
      tail -20 "$dir/$3/server.log" >&2
      exit 1
    fi
    wait_routes "$3" "$(running_count)"
    ;;
  *) usage ;;
esac
