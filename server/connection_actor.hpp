// Internal (CAF). One actor per accepted WebSocket. It owns the connection's protocol state:
// decodes frames, enforces ordering and limits, routes session messages to realm actors by
// session ident, and owns the send queue (a window of writes in flight, bounded in bytes).
// Its state and methods: connection_actor_state.hpp; its typed interface, connection_actor
// (server_messages.hpp):
//   websocket_frame, websocket_oversized, websocket_text_frame, websocket_written,
//   websocket_closed, websocket_frame_timeout  from its WebSocket (Asio threads)
//   memory_shed                               from the memory budget (any thread)
//   session_bound, session_frame, session_failed   from realm actors
//   stop_reading -> shutdown_done, goodbye -> shutdown_done   from the directory at shutdown
// and internally (connection_actor_impl) its timers: overflow_check, close_deadline.
//
//   open --(connection-level ERROR | goodbye)--> closing --(websocket_closed)--> stopped
//   open --(websocket_closed)--> stopped
// Backpressure: the actor asks its WebSocket for a few frames at a time (read_window) and stops
// asking while the send queue holds more than send_queue_bytes; if it stays there past
// send_queue_timeout (or reaches send_queue_overflow_factor times the limit) the connection ends
// with send_queue_overflow. Everything it queues, every frame it has not decoded yet and each
// bound session is charged to its account of the server's memory budget; the budget sheds the
// largest account (ERROR server_overloaded) when all of them pass the limit.
// Session idents: live (binding, bound), retired (unbound or ended by a session ERROR: further
// messages are ignored) or never seen (a message naming one is a connection-level error).
#pragma once

#include <caf/fwd.hpp>
#include <cstdint>
#include <memory>

#include <actorsync/server/token.hpp>
#include "server/server_context.hpp"
#include "server/server_messages.hpp"
#include "server/server_websocket.hpp"

namespace actorsync::server {

connection_actor spawn_connection_actor(caf::actor_system& system, context_ptr context,
                                        realm_directory_actor directory, std::uint64_t id,
                                        std::shared_ptr<server_websocket> socket,
                                        std::shared_ptr<memory_budget::account> account,
                                        token_claims upgrade_claims);

}  // namespace actorsync::server
