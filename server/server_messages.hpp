// Internal (includes CAF). The vocabulary of the server's actors: every message type they
// exchange, in one CAF type-ID block, and their typed interfaces: connection_actor and
// realm_actor first (messages carry their handles), ident_allocator_actor, realm_directory_actor
// and the `_impl` extensions (what only the actor itself, by its timers, or the store's writer
// thread sends it) at the end. Wire messages
// live in protocol/; these never go on the wire. Sessions are named inside the server by
// (connection actor, bind id): a bind id is unique per connection and never reused, so late
// messages for an unbound session are dropped.
#pragma once

#include <caf/actor_addr.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <actorsync/protocol/errors.hpp>
#include <actorsync/protocol/messages.hpp>
#include "cluster/bus_messages.hpp"
#include "cluster/nats_bus.hpp"
#include "protocol/codec.hpp"
#include "server/server_websocket.hpp"
#include "storage/history_store.hpp"

namespace actorsync::server {

using bind_id_type = std::uint64_t;

/// Default handler of every server actor: logs an unexpected message through spdlog (CAF's
/// own print_and_drop goes through its printer actor) and drops it.
caf::result<caf::message> log_and_drop(caf::scheduled_actor* self, caf::message_view& message);

// The handles messages carry are typed; the message structs are declared first, the interfaces
// (below them) name them all.
struct session_bound;
struct session_frame;
struct session_failed;
struct stop_reading;
struct goodbye;
struct shutdown_done;
struct websocket_frame;
struct websocket_oversized;
struct websocket_text_frame;
struct websocket_written;
struct websocket_closed;
struct websocket_frame_timeout;
struct memory_shed;

/// What a connection actor is sent: by its WebSocket (Asio threads), by realms, by the
/// directory at shutdown.
using connection_actor =
    caf::typed_actor<caf::reacts_to<websocket_frame>, caf::reacts_to<websocket_oversized>,
                     caf::reacts_to<websocket_text_frame>, caf::reacts_to<websocket_written>,
                     caf::reacts_to<websocket_closed>, caf::reacts_to<websocket_frame_timeout>,
                     caf::reacts_to<memory_shed>, caf::reacts_to<session_bound>,
                     caf::reacts_to<session_frame>, caf::reacts_to<session_failed>,
                     caf::replies_to<stop_reading>::with<shutdown_done>,
                     caf::replies_to<goodbye>::with<shutdown_done>>;

struct session_bind;
struct session_ident_request;
struct session_upload;
struct session_mark;
struct session_unbind;
struct download_written;
struct realm_retire;
struct drain;

/// What a realm actor is sent: by connections (their sessions' messages), by the directory.
using realm_actor =
    caf::typed_actor<caf::reacts_to<session_bind>, caf::reacts_to<session_ident_request>,
                     caf::reacts_to<session_upload>, caf::reacts_to<session_mark>,
                     caf::reacts_to<session_unbind>, caf::reacts_to<download_written>,
                     caf::reacts_to<realm_retire>, caf::replies_to<drain>::with<shutdown_done>>;

/// Encodes one server message into a shareable frame.
inline frame_ptr encode_frame(const protocol::server_message& message) {
  auto frame = std::make_shared<protocol::byte_buffer>();
  protocol::encode(message, *frame);
  return frame;
}

// ---- WebSocket (Asio thread) -> connection (server_websocket.hpp) ---------------------------
struct websocket_frame {
  frame_ptr bytes;
};
struct websocket_oversized {
  std::size_t bytes;  ///< how much had arrived when the limit was crossed
};
/// The peer sent a text message: refused before its payload is read (a text payload that is not
/// UTF-8 would otherwise make Beast close with 1007 before any typed ERROR).
struct websocket_text_frame {};
struct websocket_written {};
struct websocket_closed {
  std::string reason;
};
/// A frame's first bytes arrived more than options.frame_timeout ago and it is not complete.
struct websocket_frame_timeout {
  std::size_t bytes = 0;  ///< how much of it had arrived
};
/// From the memory budget (any thread): this connection holds the most; end it.
struct memory_shed {};

// ---- connection -> directory -> realm --------------------------------------------------------
struct session_bind {
  connection_actor connection;
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
  realm_actor realm;
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

// ---- cluster (cluster_service.hpp) ------------------------------------------------------------
/// Another node's request (take the realm, integrate an upload, grant an ident), from the bus
/// to the directory to the realm actor; answered through `reply`.
struct remote_request {
  std::shared_ptr<cluster::bus_request> request;  ///< the realm actor may move from it
  cluster::bus_responder reply;
};
/// A change notice from the bus (to the directory) ...
struct change_seen {
  cluster::change_notice notice;
};
/// ... and to the realm actor, which sends its sessions what they are owed.
struct realm_changed {
  protocol::version_type version = 0;
};
/// The realm's owner answered an upload this node forwarded for one of its sessions.
struct owner_replied {
  caf::actor_addr connection;
  bind_id_type bind_id = 0;
  std::shared_ptr<storage::result<cluster::bus_reply>> reply;
};
/// The live nodes changed: every owned realm whose preferred owner is now another node hands it
/// over (cluster_service to directory to realms). Empty: check against the node's latest view
/// (a realm's own check a while after it was taken: cluster_service::latest_live_nodes).
struct rebalance {
  std::vector<std::string> live_nodes;
};
/// A follower's timer: look for history that change notices did not announce.
struct follower_poll {
  std::uint64_t generation = 0;
};

// ---- realm -> ident allocator -> history store's group commit -------------------------------
struct allocate_ident {
  std::string realm_path;
  bool at_owner = false;  ///< cluster: the realm is owned by another node; ask it there
};
struct allocated_ident {
  bool ok = false;
  storage::file_ident_grant grant;
  std::string error;
  storage::storage_errc code = storage::storage_errc::io_error;  ///< when !ok
};
/// Store writer thread -> ident allocator: the allocation for `request` is durable (or failed).
struct ident_written {
  std::uint64_t request = 0;
  allocated_ident outcome;
};

// ---- connection bookkeeping and shutdown -----------------------------------------------------
struct register_connection {
  connection_actor connection;
};
struct stop_reading {};  ///< request; the connection stops reading frames and replies
struct drain {};         ///< request to a realm: reply once no integration is pending
struct goodbye {};       ///< request to a connection: going_away, close, reply when closed
struct shutdown_done {};
struct overflow_check {
  std::uint64_t generation = 0;
};
struct close_deadline {};

// ---- typed interfaces ------------------------------------------------------------------------

/// The connection's full interface: plus its own timers (connection_actor.hpp).
using connection_actor_impl =
    connection_actor::extend<caf::reacts_to<overflow_check>, caf::reacts_to<close_deadline>>;

/// The realm's full interface: plus the store's integration callbacks (sent from its writer
/// thread) and its own idle timer (realm_actor.hpp).
using realm_actor_impl =
    realm_actor::extend<caf::reacts_to<integration_done>, caf::reacts_to<realm_idle_check>,
                        caf::reacts_to<remote_request>, caf::reacts_to<realm_changed>,
                        caf::reacts_to<owner_replied>, caf::reacts_to<follower_poll>,
                        caf::reacts_to<rebalance>>;

/// What realms ask of the ident allocator (ident_allocator.hpp).
using ident_allocator_actor =
    caf::typed_actor<caf::replies_to<allocate_ident>::with<allocated_ident>>;
/// Plus the store's answers, sent from its writer thread.
using ident_allocator_impl = ident_allocator_actor::extend<caf::reacts_to<ident_written>>;

/// What the directory is sent: BINDs from connections, idle reports from realms, connections
/// registering, and the server's shutdown steps (realm_directory.hpp).
using realm_directory_actor = caf::typed_actor<
    caf::reacts_to<session_bind>, caf::reacts_to<realm_idle>, caf::reacts_to<register_connection>,
    caf::reacts_to<remote_request>, caf::reacts_to<change_seen>, caf::reacts_to<rebalance>,
    caf::replies_to<stop_reading>::with<shutdown_done>, caf::replies_to<drain>::with<shutdown_done>,
    caf::replies_to<goodbye>::with<shutdown_done>>;

}  // namespace actorsync::server

CAF_BEGIN_TYPE_ID_BLOCK(actorsync_server, caf::first_custom_type_id + 200)
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::websocket_frame))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::websocket_oversized))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::websocket_written))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::websocket_closed))
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
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::websocket_text_frame))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::remote_request))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::change_seen))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::realm_changed))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::owner_replied))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::follower_poll))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::rebalance))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::websocket_frame_timeout))
CAF_ADD_TYPE_ID(actorsync_server, (actorsync::server::memory_shed))
CAF_END_TYPE_ID_BLOCK(actorsync_server)

// Local-only messages: they hold actor handles and shared pointers and never cross a network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::websocket_frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::websocket_oversized)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::websocket_written)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::websocket_closed)
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::websocket_text_frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::remote_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::change_seen)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::realm_changed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::owner_replied)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::follower_poll)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::rebalance)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::websocket_frame_timeout)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::server::memory_shed)
