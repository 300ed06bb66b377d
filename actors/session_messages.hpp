// The runtime's actor vocabulary: every atom and message type of actors/ in ONE type-ID block,
// grouped by interface, and the typed interfaces: the session's (public, so app actors can talk
// to sessions), its subscribers', the connection manager's and the api bridge's.
//
// This header includes CAF. Of the api/ headers only api/session_handle.hpp includes it (the one
// deliberate doorway for app actors); everything else sees the plain types of session_types.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include <actorsync/actors/session_types.hpp>
#include <actorsync/protocol/messages.hpp>

namespace actorsync::runtime {

// ---- subscribers (public): what a session sends to the actors that subscribed -----------------

using progress_subscriber = caf::typed_actor<caf::reacts_to<transfer_progress>>;
using connection_observer = caf::typed_actor<caf::reacts_to<connection_state_changed>>;
using error_observer = caf::typed_actor<caf::reacts_to<session_error_event>>;
/// Receives fleet_events from a fleet monitor (fleet_monitor.hpp).
using fleet_observer = caf::typed_actor<caf::reacts_to<fleet_event>>;
/// Receives a realm's backpressure_events (session_config::backpressure).
using backpressure_observer = caf::typed_actor<caf::reacts_to<backpressure_event>>;
/// Receives a realm's client_reset_events (before and after each reset).
using client_reset_observer = caf::typed_actor<caf::reacts_to<client_reset_event>>;

// ---- requests from app actors (public) ---------------------------------------------------------

/// A wait's client version when the caller did not capture one: the newest local version when
/// the session handles the request.
inline constexpr protocol::version_type newest_at_handling = ~protocol::version_type{0};

/// Waits until the server acknowledged every local change up to `target`. Capture the target
/// where the caller commits (realm_store::metadata().latest_client_version), so writes made
/// after the call are not waited for; the default takes the newest version when the session
/// handles the request. A target beyond the newest committed version waits for the newest.
/// `timeout` > 0 ends this wait after it, whatever the realm's settings (an extension of the
/// seed's API); <= 0 applies the app's request timeout only when the realm cancels waits on
/// non-fatal errors, and otherwise waits until done, a fatal error, pause or close.
struct wait_for_upload {
  std::chrono::milliseconds timeout{0};
  protocol::version_type target = newest_at_handling;
};

/// Without `server_version`: waits for a MARK round trip, so everything the server held at the
/// MARK is integrated locally. With it: waits until everything up to that server version is
/// integrated locally (no MARK; reads-your-writes across clients: the writer learns a server
/// version that covers its write from its own download cursor after an upload wait and a
/// download wait). `timeout` as for wait_for_upload.
struct wait_for_download {
  std::chrono::milliseconds timeout{0};
  protocol::version_type server_version = 0;
};

/// Registers `subscriber` for transfer_progress messages; replies with the token.
struct subscribe_progress {
  progress_direction direction = progress_direction::upload;
  progress_mode mode = progress_mode::report_indefinitely;
  progress_subscriber subscriber;
};

/// Ends the session. Without stop_now, the session stays alive until the server acknowledged
/// every local change (unless paused or stopped by a fatal error); with it, at once.
struct close_session {
  bool stop_now = false;
};

// ---- internal: connection manager and storage to session --------------------------------------

/// What the connection manager tells a session about its link.
struct link_event {
  connection_state state = connection_state::disconnected;
  bool has_error = false;
  sync_errc error = sync_errc::connection_lost;
  std::string message;
  /// Set for one session of the link when its token expired: that session gives the link a
  /// fresh token for the retry (the others fetch theirs at BIND).
  bool give_fresh_token = false;
  /// The link's server: an index into connection_manager_config::urls.
  std::uint32_t server = 0;
  /// For a failure: when the link tries again (its backoff delay, from when the event was
  /// sent); zero when it does not (a fatal error).
  std::chrono::milliseconds retry_in{0};

  static link_event of(connection_state state, std::uint32_t server) {
    return {state, false, {}, {}, false, server, {}};
  }
  static link_event failure(sync_errc error, std::string message, std::uint32_t server,
                            std::chrono::milliseconds retry_in) {
    return {
        connection_state::disconnected, true, error, std::move(message), false, server, retry_in};
  }
};

/// A decoded frame for one session (shared: messages are copy-on-write).
struct incoming_message {
  std::shared_ptr<const protocol::server_message> message;
};

/// An encoded frame a session wants sent on its link.
struct outgoing_frame {
  protocol::session_ident session = 0;
  std::shared_ptr<const std::vector<std::uint8_t>> bytes;
  bool is_upload = false;  ///< the owner is told (frame_sent) when an upload frame was written
  caf::actor owner;        ///< the session that sent it
};

// ---- internal: I/O threads to the connection manager -------------------------------------------
// Every event names its link and the link's generation (bumped at every reconnect), so events of
// a socket that was already replaced are recognised and dropped.

struct socket_opened {
  std::uint64_t link = 0;
  std::uint64_t generation = 0;
};

struct socket_failed {
  std::uint64_t link = 0;
  std::uint64_t generation = 0;
  sync_errc error = sync_errc::connection_lost;
  std::string message;
};

/// A whole frame, decoded; or, with a null message, part of a large frame still arriving (sent
/// for liveness only, so a slow large DOWNLOAD does not look like a silent link).
struct socket_frame {
  std::uint64_t link = 0;
  std::uint64_t generation = 0;
  std::shared_ptr<const protocol::server_message> message;
  std::size_t bytes = 0;  ///< size on the wire (liveness and statistics)
};

struct socket_written {
  std::uint64_t link = 0;
  std::uint64_t generation = 0;
};

/// Counters answered by the connection manager to stats_atom.
struct link_statistics {
  std::uint64_t sockets_open = 0;  ///< links connected or connecting
  std::uint64_t sessions_attached = 0;
  std::uint64_t bytes_pending = 0;    ///< queued in outboxes, not yet written
  std::uint64_t connects = 0;         ///< connection attempts so far
  std::uint64_t memory_releases = 0;  ///< free heap returned to the OS after a burst
  /// Per server of connection_manager_config::urls, in its order: links connected there now,
  /// and connection attempts made there so far.
  std::vector<std::uint64_t> links_connected_per_server;
  std::vector<std::uint64_t> connects_per_server;
  /// Links lost or refused so far, indexed by sync_errc value (why the link went down).
  std::vector<std::uint64_t> failures_by_reason;
  std::uint64_t bytes_sent = 0;      ///< frames written, WebSocket payload bytes
  std::uint64_t bytes_received = 0;  ///< whole frames received, bytes on the wire
};

// ---- internal: the api/ facade's request bridge ------------------------------------------------
// The bridge actor issues the facade's requests in the order the facade was called (one sender,
// one receiver: CAF keeps their order), so a wait followed by pause() reaches the session in
// that order.

/// Sends `content` to `target`; a reply is dropped.
struct forward_in_order {
  caf::actor target;
  caf::message content;
};

/// Where a facade wait's outcome goes: a callback run on the bridge (a runtime thread).
struct wait_completion {
  std::function<void(wait_outcome)> done;
  wait_outcome gone;  ///< delivered when the session ends without answering
};

/// Issues an upload (or download) wait to `session` as a ticketed_wait.
struct issue_wait {
  caf::actor session;
  bool upload = true;
  std::chrono::milliseconds timeout{0};
  protocol::version_type target = 0;  ///< upload waits (see wait_for_upload)
  std::shared_ptr<const wait_completion> completion;
};

/// A wait issued by the api bridge: the outcome goes back to `reply_to` as wait_done{ticket}
/// rather than as a CAF response. CAF 0.17 keeps an actor's pending responses in a vector that
/// it searches and erases linearly, so a bridge with 100,000 waits in flight spent most of its
/// time there (docs/BENCHMARKS.md, load tester).
struct ticketed_wait {
  bool upload = true;  ///< false: a download wait
  std::chrono::milliseconds timeout{0};
  /// Upload waits: see wait_for_upload. Download waits: the server version to reach, or
  /// newest_at_handling for a MARK round trip.
  protocol::version_type target = newest_at_handling;
  caf::actor reply_to;
  std::uint64_t ticket = 0;
};

/// The outcome of a ticketed_wait.
struct wait_done {
  std::uint64_t ticket = 0;
  wait_outcome outcome;
};

// ---- inspectors (0.17 style) -------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wait_outcome& x) {
  return f(caf::meta::type_name("wait_outcome"), x.status, x.error);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transfer_progress& x) {
  return f(caf::meta::type_name("transfer_progress"), x.realm, x.direction, x.transferred,
           x.transferable, x.estimate, x.complete, x.token, x.last);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_state_changed& x) {
  return f(caf::meta::type_name("connection_state_changed"), x.realm, x.old_state, x.new_state);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_error_event& x) {
  return f(caf::meta::type_name("session_error_event"), x.realm, x.code, x.fatal, x.message,
           x.server_url, x.retry_in);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_snapshot& x) {
  return f(caf::meta::type_name("session_snapshot"), x.realm, x.state, x.connection,
           x.latest_client_version, x.acknowledged_client_version, x.download_server_version,
           x.pending_upload_bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fleet_status& x) {
  return f(caf::meta::type_name("fleet_status"), x.sessions, x.active, x.paused, x.inactive,
           x.disconnected, x.connecting, x.connected, x.in_error, x.uploading, x.waiting_for_upload,
           x.waiting_for_download, x.unacknowledged_bytes, x.download_remaining_bytes,
           x.oldest_unacknowledged_age);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fleet_event& x) {
  return f(caf::meta::type_name("fleet_event"), x.status, x.alarm, x.raised);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backpressure_event& x) {
  return f(caf::meta::type_name("backpressure_event"), x.realm, x.above_high_water,
           x.unacknowledged_bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_event_record& x) {
  return f(caf::meta::type_name("session_event_record"), x.age, x.what);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_explanation& x) {
  return f(caf::meta::type_name("session_explanation"), x.realm, x.blocker, x.summary, x.state,
           x.connection, x.has_error, x.last_error, x.last_error_fatal, x.last_error_message,
           x.last_error_age, x.next_retry_in, x.unacknowledged_changesets, x.unacknowledged_bytes,
           x.oldest_unacknowledged_age, x.download_remaining_bytes, x.pending_upload_waits,
           x.pending_download_waits, x.recent_events);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wait_for_upload& x) {
  return f(caf::meta::type_name("wait_for_upload"), x.timeout, x.target);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wait_for_download& x) {
  return f(caf::meta::type_name("wait_for_download"), x.timeout, x.server_version);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe_progress& x) {
  return f(caf::meta::type_name("subscribe_progress"), x.direction, x.mode, x.subscriber);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, close_session& x) {
  return f(caf::meta::type_name("close_session"), x.stop_now);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_statistics& x) {
  return f(caf::meta::type_name("link_statistics"), x.sockets_open, x.sessions_attached,
           x.bytes_pending, x.connects, x.memory_releases, x.links_connected_per_server,
           x.connects_per_server, x.failures_by_reason, x.bytes_sent, x.bytes_received);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ticketed_wait& x) {
  return f(caf::meta::type_name("ticketed_wait"), x.upload, x.timeout, x.target, x.reply_to,
           x.ticket);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wait_done& x) {
  return f(caf::meta::type_name("wait_done"), x.ticket, x.outcome);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_reset_event& x) {
  return f(caf::meta::type_name("client_reset_event"), x.realm, x.after, x.mode, x.reason,
           x.message, x.unsynced_changesets, x.recovered, x.discarded, x.recovery_failed);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_event& x) {
  return f(caf::meta::type_name("link_event"), x.state, x.has_error, x.error, x.message,
           x.give_fresh_token, x.server, x.retry_in);
}

}  // namespace actorsync::runtime

// Local-only payloads: shared pointers never cross the network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::runtime::incoming_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::runtime::outgoing_frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::runtime::socket_opened)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::runtime::socket_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::runtime::socket_frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::runtime::socket_written)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::runtime::forward_in_order)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorsync::runtime::issue_wait)

// clang-format off
// ---- the one type-ID block of the client runtime ------------------------------------------------
CAF_BEGIN_TYPE_ID_BLOCK(actorsync_runtime, caf::first_custom_type_id)

// -- public requests and notifications
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::wait_outcome))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::transfer_progress))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::connection_state_changed))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::session_error_event))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::session_snapshot))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::wait_for_upload))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::wait_for_download))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::subscribe_progress))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::close_session))
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, pause_atom, "pause")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, resume_atom, "resume")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, unsubscribe_progress_atom, "unsubprog")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, subscribe_connection_atom, "subconn")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, unsubscribe_connection_atom, "unsubconn")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, subscribe_errors_atom, "suberr")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, get_state_atom, "getstate")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, reconnect_atom, "reconnect")

// -- internal: storage, connection manager, timers
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::link_event))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::incoming_message))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::outgoing_frame))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::socket_opened))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::socket_failed))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::socket_frame))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::socket_written))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::link_statistics))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::forward_in_order))
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, local_commit_atom, "commit")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, frame_sent_atom, "framesent")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, attach_atom, "attach")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, detach_atom, "detach")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, stats_atom, "stats")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, shutdown_atom, "shutdown")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, rebind_atom, "rebind")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, connect_timeout_atom, "conntmo")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, keepalive_atom, "keepalive")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, retry_atom, "retry")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, linger_atom, "linger")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, persist_atom, "persist")
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::ticketed_wait))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::wait_done))
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, release_atom, "release")
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, recorded_atom, "recorded")
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::issue_wait))

// -- public, added later
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::client_reset_event))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::session_event_record))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::session_explanation))
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, explain_atom, "explain")
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::backpressure_event))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::fleet_status))
CAF_ADD_TYPE_ID(actorsync_runtime, (actorsync::runtime::fleet_event))
CAF_ADD_ATOM(actorsync_runtime, actorsync::runtime, fleet_tick_atom, "fleettick")

CAF_END_TYPE_ID_BLOCK(actorsync_runtime)
// clang-format on

namespace actorsync::runtime {

/// Connection-state and error subscriptions are keyed by token too.
using subscription_token = std::uint64_t;

/// The session's public interface. Every request gets a typed reply.
using session_actor = caf::typed_actor<
    caf::replies_to<pause_atom>::with<session_state>,
    caf::replies_to<resume_atom>::with<session_state>,
    caf::replies_to<wait_for_upload>::with<wait_outcome>,
    caf::replies_to<wait_for_download>::with<wait_outcome>,
    caf::replies_to<subscribe_progress>::with<progress_token>,
    caf::replies_to<unsubscribe_progress_atom, progress_token>::with<bool>,
    caf::replies_to<subscribe_connection_atom, connection_observer>::with<subscription_token>,
    caf::replies_to<unsubscribe_connection_atom, subscription_token>::with<bool>,
    caf::replies_to<subscribe_errors_atom, error_observer>::with<subscription_token>,
    caf::replies_to<get_state_atom>::with<session_snapshot>,
    caf::replies_to<explain_atom>::with<session_explanation>,
    caf::replies_to<reconnect_atom>::with<bool>, caf::replies_to<close_session>::with<bool>>;

/// The full interface: the public one plus what storage, the connection manager and the
/// session's own timers send. Not for app actors.
using session_actor_impl = session_actor::extend<
    caf::reacts_to<local_commit_atom>, caf::reacts_to<link_event>, caf::reacts_to<incoming_message>,
    caf::reacts_to<frame_sent_atom>, caf::reacts_to<rebind_atom, std::uint64_t>,
    caf::reacts_to<ticketed_wait>, caf::reacts_to<persist_atom>,
    // the facade's pause/resume: recorded in the metadata by the caller
    caf::reacts_to<pause_atom, recorded_atom>, caf::reacts_to<resume_atom, recorded_atom>>;

// ---- the connection manager (connection_manager.hpp) --------------------------------------------

/// What sessions and the app send to the connection manager. `caf::actor` parameters are the
/// sessions: they receive link_event, incoming_message and frame_sent_atom.
using connection_manager_actor =
    caf::typed_actor<caf::reacts_to<attach_atom, std::string, std::string, caf::actor>,
                     caf::reacts_to<detach_atom, caf::actor>, caf::reacts_to<outgoing_frame>,
                     caf::reacts_to<reconnect_atom>,
                     caf::replies_to<stats_atom>::with<link_statistics>,
                     caf::replies_to<shutdown_atom>::with<bool>>;

/// The full interface: plus the I/O thread's link events and the manager's own timers.
using connection_manager_impl = connection_manager_actor::extend<
    caf::reacts_to<socket_opened>, caf::reacts_to<socket_frame>, caf::reacts_to<socket_written>,
    caf::reacts_to<socket_failed>,
    caf::reacts_to<connect_timeout_atom, std::uint64_t, std::uint64_t>,
    caf::reacts_to<retry_atom, std::uint64_t, std::uint64_t>,
    caf::reacts_to<keepalive_atom, std::uint64_t, std::uint64_t>,
    caf::reacts_to<linger_atom, std::uint64_t, std::uint64_t>, caf::reacts_to<release_atom>>;

// ---- the api bridge (api/runtime_bridge.hpp) ----------------------------------------------------

using bridge_actor = caf::typed_actor<caf::reacts_to<forward_in_order>, caf::reacts_to<issue_wait>,
                                      caf::reacts_to<wait_done>>;

}  // namespace actorsync::runtime
