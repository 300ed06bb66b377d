// The connection manager: one actor that owns every socket of a runtime. Sessions attach to a
// link by key; with multiplexing the key is the user (one link per user, to whichever of the
// app's servers it reached), without it the key is unique per session (one link each). Frames
// are routed to sessions by session ident. A link that fails to connect or is lost retries, after
// its backoff, at the next server of the list (next_server in server_url.hpp); its sessions bind
// again there as after any reconnect. Internal header of actors/ (includes CAF).
//
// Its typed interface, connection_manager_actor (session_messages.hpp):
//   (attach_atom, link key, token, session)  join or open a link; the session gets link_events;
//                                             again from an attached session: the link's new
//                                             token (after token_expired)
//   (detach_atom, session)                   leave; queued frames still go out; the link lingers
//   outgoing_frame                            queue a frame; its ident routes replies to `owner`
//   (reconnect_atom)                          reconnect now every link waiting for a retry
//   (stats_atom) -> link_statistics
//   (shutdown_atom) -> bool                   retire every link and quit; reply when done
// and internally (connection_manager_impl) the link events of the I/O thread and its timers
// (connect timeout, retry, keepalive, linger, and the memory release of memory_release.hpp).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include <caf/fwd.hpp>

#include <actorsync/actors/reconnect_backoff.hpp>
#include <actorsync/actors/runtime_tuning.hpp>
#include <actorsync/actors/session_messages.hpp>
#include "actors/client_websocket.hpp"
#include "actors/io_runtime.hpp"
#include "actors/runtime_log.hpp"
#include "actors/server_url.hpp"

namespace actorsync::runtime {

struct connection_manager_config {
  /// The servers, in the order a link tries them (at least one): every link starts at the
  /// first and moves to the next after a failed or lost connection, round robin.
  std::vector<server_url> urls;
  io_runtime* io = nullptr;  ///< must outlive the manager's sockets
  /// Makes the link of each connection attempt; empty: a Beast WebSocket on `io`. The seam for
  /// deterministic tests (a scripted link on CAF's test coordinator).
  std::function<std::shared_ptr<client_websocket>(socket_target)> socket_factory;
  std::chrono::milliseconds connect_timeout = tuning::connect_timeout;
  /// A PING goes out every ping_interval; the link is dropped with pong_timeout when nothing at
  /// all (not only PONG: any frame counts) arrived for pong_timeout after a PING.
  std::chrono::milliseconds ping_interval = tuning::ping_interval;
  std::chrono::milliseconds pong_timeout = tuning::pong_timeout;
  /// How long a link stays open after its last session left; 0 closes it at once.
  std::chrono::milliseconds linger = tuning::linger;
  /// Sessions of one key beyond this share another link to the same server: the server's own
  /// limit per connection (max_sessions_per_connection, 65,536 by default) is not hit.
  std::size_t max_sessions_per_link = tuning::max_sessions_per_link;
  backoff_config backoff{};
  /// After at least this many sessions attached or left, the manager gives the heap's free
  /// pages back to the OS once no frame moved for release_quiet (a burst of binds leaves ~1 KB
  /// per session of freed memory resident otherwise). 0: never.
  std::size_t release_after_sessions = tuning::release_memory_after_sessions;
  std::chrono::milliseconds release_quiet = tuning::release_quiet;
  /// The app's logger; null: the process-wide "actorsync" logger on stderr.
  logger_ptr log;
};

connection_manager_actor spawn_connection_manager(caf::actor_system& system,
                                                  connection_manager_config config);

}  // namespace actorsync::runtime
