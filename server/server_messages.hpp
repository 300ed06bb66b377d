// Internal (includes CAF). The vocabulary of the server's actors: every message type they
// exchange, in one CAF type-ID block. Wire messages live in protocol/; these never go on the
// wire. Sessions are named inside the server by (connection actor, bind id): a bind id is
// unique per connection and never reused, so late messages for an unbound session are dropped.
#pragma once

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/type_id.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/codec.hpp"
#include "protocol/errors.hpp"
#include "protocol/messages.hpp"
#include "server/link.hpp"
#include "storage/history_store.hpp"

namespace actorsync::server {

using bind_id_type = std::uint64_t;

/// Default handler of every server actor: logs an unexpected message through spdlog (CAF's
/// own print_and_drop goes through its printer actor) and drops it.
caf::result<caf::message> log_and_drop(caf::scheduled_actor* self, caf::message_view& message);

/// Encodes one server message into a shareable frame.
inline frame_ptr encode_frame(const protocol::server_message& message) {
  auto frame = std::make_shared<protocol::byte_buffer>();
  protocol::encode(message, *frame);
  return frame;
}

// ---- link (Asio thread) -> connection ------------------------------------------------------
struct link_frame {
  frame_ptr bytes;
};
struct link_oversized {
  std::size_t bytes;  ///< how much had arrived when the limit was crossed
};
/// The peer sent a text message: refused before its payload is read (a text payload that is not
/// UTF-8 would otherwise make Beast close with 1007 before any typed ERROR).
struct link_text_frame {};
struct link_wrote {};
struct link_closed {
  std::string reason;
};

// ---- connection -> directory -> realm --------------------------------------------------------
struct session_bind {
  caf::actor connection;
  bind_id_type bind_id = 0;
  protocol::session_ident session = 0;
  std::string realm_path;
  std::string user_id;
};

// ---- connection -> realm ---------------------------------------------------------------------
struct session_ident_request {
  bind_id_type bind_id = 0;
  protocol::client_ident_message ident;
};
struct session_upload {
  bind_id_type bind_id = 0;
  std::shared_ptr<protocol::upload_message> upload;  ///< moved from by the realm actor
  std::chrono::steady_clock::time_point received;
};
struct session_mark {
  bind_id_type bind_id = 0;
  protocol::request_ident request = 0;
};
struct session_unbind {
  bind_id_type bind_id = 0;
};
/// The DOWNLOAD the realm asked about was written to the socket: the realm may send the next.
struct download_written {
  bind_id_type bind_id = 0;
};

// ---- realm -> connection ---------------------------------------------------------------------
struct session_bound {
  bind_id_type bind_id = 0;
  caf::actor realm;
};
/// An encoded server message for one session. `wants_written`: answer with download_written.
struct session_frame {
  bind_id_type bind_id = 0;
  frame_ptr frame;
  bool wants_written = false;
  std::size_t changesets = 0;
};
/// The realm ended the session with a session-level error.
struct session_failed {
  bind_id_type bind_id = 0;
  protocol::error_code code = protocol::error_code::other_session_error;
  std::string message;
};

// ---- realm <-> directory ---------------------------------------------------------------------
struct realm_idle {
  std::string realm_path;
  std::uint64_t binds_seen = 0;
};
struct realm_retire {};
struct realm_idle_check {
  std::uint64_t generation = 0;
};
struct integration_done {
  std::uint64_t sequence = 0;
  std::shared_ptr<storage::result<storage::integration_result>> outcome;
};

// ---- realm -> ident allocator -> history store's group commit -------------------------------
struct allocate_ident {
  std::string realm_path;
};
struct allocated_ident {
  bool ok = false;
  storage::file_ident_grant grant;
  std::string error;
};
/// Store writer thread -> ident allocator: the allocation for `request` is durable (or failed).
struct ident_written {
  std::uint64_t request = 0;
  allocated_ident outcome;
};

// ---- connection bookkeeping and shutdown -----------------------------------------------------
struct register_connection {
  caf::actor connection;
};
struct stop_reading {};  ///< request; the connection stops reading frames and replies
struct drain {};         ///< request to a realm: reply once no integration is pending
struct goodbye {};       ///< request to a connection: going_away, close, reply when closed
struct shutdown_done {};
struct overflow_check {
  std::uint64_t generation = 0;
};
struct close_deadline {};

}  // namespace actorsync::server

CAF_BEGIN_TYPE_ID_BLOCK(actorsync_server, caf::first_custom_type_id + 200)
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::link_frame))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::link_oversized))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::link_wrote))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::link_closed))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::session_bind))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::session_ident_request))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::session_upload))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::session_mark))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::session_unbind))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::download_written))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::session_bound))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::session_frame))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::session_failed))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::realm_idle))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::realm_retire))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::realm_idle_check))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::integration_done))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::allocate_ident))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::allocated_ident))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::register_connection))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::stop_reading))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::drain))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::goodbye))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::shutdown_done))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::overflow_check))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::close_deadline))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::ident_written))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::link_text_frame))
CAF_END_TYPE_ID_BLOCK(actorsync_server)

// Local-only messages: they hold actor handles and shared pointers and never cross a network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::link_frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::link_oversized)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::link_wrote)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::link_closed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::session_bind)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::session_ident_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::session_upload)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::session_mark)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::session_unbind)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::download_written)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::session_bound)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::session_frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::session_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::realm_idle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::realm_retire)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::realm_idle_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::integration_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::allocate_ident)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::allocated_ident)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::register_connection)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::stop_reading)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::drain)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::goodbye)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::shutdown_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::overflow_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::close_deadline)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::ident_written)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::link_text_frame)
