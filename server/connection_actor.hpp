// Internal (CAF). One actor per accepted WebSocket. It owns the connection's protocol state:
// decodes frames, enforces ordering and limits, routes session messages to realm actors by
// session ident, and owns the send queue (one write in flight, bounded in bytes).
//
//   open --(connection-level ERROR | goodbye)--> closing --(link_closed)--> stopped
//   open --(link_closed)--> stopped
// Backpressure: the actor asks its link for one frame at a time and stops asking while the
// send queue holds more than send_queue_bytes; if it stays there past send_queue_timeout (or
// reaches four times the limit) the connection ends with send_queue_overflow.
// Session idents: live (binding, bound), retired (unbound or ended by a session ERROR: further
// messages are ignored) or never seen (a message naming one is a connection-level error).
#pragma once

#include <caf/fwd.hpp>
#include <cstdint>
#include <memory>

#include "server/link.hpp"
#include "server/server_context.hpp"
#include "server/token.hpp"

namespace actorsync::server {

caf::actor spawn_connection_actor(caf::actor_system& system, context_ptr context,
                                  caf::actor directory, std::uint64_t id,
                                  std::shared_ptr<link> socket, token_claims upgrade_claims);

}  // namespace actorsync::server
