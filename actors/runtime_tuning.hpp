// Every default and limit of the client runtime, in one place, each with why it has its value.
// The configuration structs (api::app_config, connection_manager_config, session_settings,
// backoff_config) take their defaults from here; code never repeats these numbers as literals.
// Pure constants: no CAF, no I/O.
#pragma once

#include <chrono>
#include <cstddef>

namespace actorsync::runtime::tuning {

using namespace std::chrono_literals;

// ---- waits and requests -----------------------------------------------------------------------

/// Realm's default request timeout. It ends waits only in realms that cancel waits on non-fatal
/// errors (docs/sessions.md, "Waits").
inline constexpr std::chrono::milliseconds request_timeout = 60s;

/// How long the facade waits for the actor system to answer an internal request (statistics,
/// shutdown, stopping a realm's previous session). Only a wedged runtime takes this long.
inline constexpr std::chrono::milliseconds internal_request_timeout = 30s;

// ---- connections ------------------------------------------------------------------------------

/// Resolve + TCP + TLS + WebSocket upgrade. Realm uses 2 minutes; 15 s fails a dead endpoint
/// fast enough for a service while leaving room for a slow TLS handshake on a loaded host.
inline constexpr std::chrono::milliseconds connect_timeout = 15s;

/// A PING every 30 s keeps NAT and load-balancer idle timers (often 60 s) from dropping a quiet
/// link.
inline constexpr std::chrono::milliseconds ping_interval = 30s;

/// The link is dropped when nothing at all arrived this long after a PING: two missed ping
/// intervals, so one delayed PONG is not a disconnect.
inline constexpr std::chrono::milliseconds pong_timeout = 60s;

/// A link stays open this long after its last session left, so a realm reopened soon after (a
/// request handler opening and closing realms) reuses it instead of paying a new handshake.
inline constexpr std::chrono::milliseconds linger = 30s;

// ---- reconnect backoff (reconnect_backoff.hpp) --------------------------------------------------

/// 1 s doubling to 8 s, each delay drawn uniformly from [0, base] ("full jitter") and raised to a
/// floor of initial / 10 (100 ms).
///
/// The cap is what a client pays after the network heals: it waits out the delay it drew while
/// the network was down. With full jitter under an 8 s cap the delays average 4 s and the wait
/// after a heal at a random moment 2.7 s (E[d^2] / 2 E[d]), 8 s at worst. The cap used to be
/// Realm's 5 minutes with 25 % jitter: after 40 s of cuts and stalls, links stayed down 20-27 s
/// more once the network was healthy (issue 17; docs/BENCHMARKS.md, "Reconnect after an outage").
/// The cost of a low cap is one connection attempt per link every ~4 s against a server that
/// is down. With multiplexing a process has one link per user and server (a service holding
/// many realms of one user has one), so 10,000 client processes cost a dead server's host or
/// load balancer ~2,500 refused connects per second, each a SYN and a RST: cheap next to the
/// minutes of lost availability a long cap costs every client.
/// Full jitter rather than a 25 % reduction: clients cut off together (a server restart, a
/// network partition) spread their retries over the whole delay instead of arriving in waves a
/// quarter of a delay wide; the floor keeps a delay from being 0 ms.
inline constexpr std::chrono::milliseconds backoff_initial = 1s;
inline constexpr std::chrono::milliseconds backoff_maximum = 8s;
inline constexpr double backoff_max_jitter = 1.0;
/// Unlike Realm: a link that stayed up this long resets the delay, so the first retry after it
/// drops comes within [initial / 10, initial] (a server restart is met at once). Long enough
/// that a server which accepts connections and drops them at once (a crash loop, an overload
/// refusal after the upgrade) still meets a growing delay; short enough that a flaky network
/// whose links come up for a few seconds between cuts does not keep the delay at its cap.
inline constexpr std::chrono::milliseconds backoff_healthy_after = 3s;

// ---- sessions ---------------------------------------------------------------------------------

/// The largest UPLOAD a session builds at once (one is in its link's outbox at a time). Big
/// enough that a bulk import moves in few frames, small enough that one session's upload does
/// not hold a shared link for long.
inline constexpr std::size_t upload_batch_bytes = 256 * 1024;

/// Acknowledgements are kept in memory and written with the realm's next commit or at latest
/// after this long: an acknowledgement-only DOWNLOAD per UPLOAD cost a RocksDB write each, and a
/// crash re-uploads at most this much (the server drops the duplicates).
inline constexpr std::chrono::milliseconds persist_acknowledgements_after = 500ms;

// ---- memory -----------------------------------------------------------------------------------

/// After this many sessions attached, bound or left, the runtime gives the heap's free pages
/// back to the OS once its links have been quiet for `release_quiet`: a burst of binds leaves
/// ~1 KB per session of freed memory resident otherwise (docs/BENCHMARKS.md, idle sessions).
inline constexpr std::size_t release_memory_after_sessions = 1000;
inline constexpr std::chrono::milliseconds release_quiet = 500ms;

/// Sessions of one key per link; more open another link to the same endpoint. The server's
/// default limits.max_sessions_per_connection, so 100,000 sessions of one user bind without
/// raising it (two links).
inline constexpr std::size_t max_sessions_per_link = 65536;

// ---- diagnostics ------------------------------------------------------------------------------

/// Events kept per session by its flight recorder (16 bytes each, allocated at the session's
/// first event): a reconnect cycle (error, connecting, connected, BIND, IDENT) and a few frames,
/// at about 200 bytes per session with its bookkeeping (docs/BENCHMARKS.md, idle sessions).
inline constexpr std::size_t flight_recorder_events = 8;
/// Upper bound on app_config::flight_recorder_events.
inline constexpr std::size_t max_flight_recorder_events = 4096;

// ---- threads and sockets ----------------------------------------------------------------------

/// CAF scheduler threads: set explicitly, as CAF 0.17 would start max(cores, 4).
inline constexpr std::size_t scheduler_threads = 2;

/// Bytes asked of the socket per read on the I/O thread.
inline constexpr std::size_t socket_read_chunk = 64 * 1024;
/// While a large frame is still arriving, the manager hears of it this often (liveness only),
/// so a slow large DOWNLOAD is not taken for a silent link.
inline constexpr std::chrono::milliseconds partial_frame_report_interval = 50ms;

}  // namespace actorsync::runtime::tuning
