// State of a realm actor (behaviour in realm_actor.cpp, contract in realm_actor.hpp). Runs on
// the actor only; the store's writer thread reaches it through integration_done messages.
#pragma once

#include <caf/actor_addr.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <actorsync/protocol/errors.hpp>
#include <actorsync/protocol/messages.hpp>
#include "server/server_context.hpp"
#include "server/server_messages.hpp"

namespace actorsync::server {

/// A session is known to its realm by (connection address, bind id).
using realm_session_key = std::pair<caf::actor_addr, bind_id_type>;

struct pending_mark {
  protocol::request_ident request = 0;
  protocol::version_type target = 0;  ///< latest server version when the MARK arrived
};

struct realm_session {
  connection_actor connection;
  bind_id_type bind_id = 0;
  protocol::session_ident session = 0;
  bool identifying = false;
  bool ready = false;
  storage::file_ident_grant grant;
  protocol::version_type download_cursor = 0;            ///< history sent up to this version
  protocol::version_type integrated_client_version = 0;  ///< the store's figure for this file
  protocol::version_type acknowledged = 0;               ///< integrated_client_version last sent
  std::uint64_t remaining_hint = 0;                      ///< downloadable bytes from the last read
  bool download_in_flight = false;
  /// No DOWNLOAD sent on this binding yet: the first is sent even when nothing is owed, so the
  /// client learns the current downloadable figure (its progress targets depend on it).
  bool first_download_owed = false;
  /// In arrival order. A vector, released once answered: an idle session holds no buffer (an
  /// empty std::deque still holds ~600 bytes, per session, on the server).
  std::vector<pending_mark> marks;
};

struct pending_integration {
  realm_session_key key;
  std::chrono::steady_clock::time_point received;
  std::shared_ptr<storage::result<storage::integration_result>> outcome;  ///< set when done
};

/// Cluster follower: a session's uploads go to the realm's owner one request at a time (so a
/// lost request can never let a later one pass it: the owner skips client versions at or below
/// the last integrated); what arrives meanwhile is queued and goes as the next request.
struct forwarded_uploads {
  std::vector<protocol::changeset> queued;
  bool in_flight = false;
  std::chrono::steady_clock::time_point sent;
};

/// The ERROR a session gets for a store's refusal.
protocol::error_code to_protocol_error(storage::storage_errc code);
/// Whether a store error means the realm is not (or no longer) this process's to write.
bool loses_realm(storage::storage_errc code);

struct realm_actor_state {
  using self_pointer = caf::stateful_actor<realm_actor_state, realm_actor_impl::base>*;

  self_pointer self = nullptr;
  context_ptr context;
  realm_directory_actor directory;
  ident_allocator_actor allocator;
  std::string path;
  std::map<realm_session_key, realm_session> sessions;
  std::set<caf::actor_addr> monitored;
  protocol::version_type latest = 0;
  std::uint64_t binds_seen = 0;
  std::uint64_t next_sequence = 0;
  std::map<std::uint64_t, pending_integration> integrations;  ///< by sequence, completed in order
  std::uint64_t idle_generation = 0;
  std::vector<caf::typed_response_promise<shutdown_done>> drain_waiters;
  /// Set once the store found this realm's stored data damaged: every session gets the fatal
  /// ERROR storage_corruption, at once from then on (the text says what was found).
  std::optional<std::string> damaged;
  /// This process is the realm's writer (always on one node; a cluster store may refuse or
  /// take the realm away: then sessions are failed retryably and the actor retires at once).
  bool owned = false;
  // ---- cluster only (context->cluster set) ----
  cluster::bus_subscription serving;  ///< this realm's subject, while owned
  std::map<realm_session_key, forwarded_uploads> forwards;
  std::uint64_t poll_generation = 0;
  bool poll_armed = false;
  /// Another node is now the preferred owner: refuse new remote writes, release once the
  /// writes in flight are committed.
  bool handing_over = false;

  static inline const char* name = "actorsync.realm";

  void start();

  // ---- from connections
  void bind(const session_bind& bind);
  void ident(const session_ident_request& m);
  void upload(const session_upload& m);
  void mark(const session_mark& m);
  void unbind(const session_unbind& m);
  void download_was_written(const download_written& m);
  void connection_down(const caf::down_msg& down);

  // ---- from the store, timers and the directory
  void integrated(integration_done& done);
  void integrate_locally(const realm_session_key& key,
                         std::chrono::steady_clock::time_point received,
                         std::vector<protocol::changeset> changesets);

  // ---- cluster: as owner, for other nodes; as follower, through the owner
  bool clustered() const { return context->cluster != nullptr; }
  void remote(const remote_request& m);
  void take(const cluster::bus_responder& reply);
  void remote_upload(const remote_request& m);
  void remote_allocate(const remote_request& m);
  void forward_upload(const realm_session_key& key, std::vector<protocol::changeset> changesets);
  void send_forward(const realm_session_key& key);
  void owner_answered(const owner_replied& m);
  void changed(protocol::version_type version);
  void poll(const follower_poll& m);
  void arm_poll();
  void stop_serving();
  /// The store says the realm is not ours any more (fenced, lost): a follower from now on.
  void forget_ownership();
  void check_still_owned();
  void rebalanced(const std::vector<std::string>& live_nodes);
  /// Owned and neither draining nor handing over: local writes may go to the store.
  bool writes_here() const { return owned && !handing_over && drain_waiters.empty(); }
  void idle_check(const realm_idle_check& m);
  void retire();
  caf::result<shutdown_done> drain_integrations();

  // ---- sessions
  realm_session_key sender_key(bind_id_type bind_id) const;
  /// False (and the session failed with `beyond`) when `version` is past the realm's history.
  bool known_version(const realm_session_key& key, protocol::version_type version,
                     std::string_view what,
                     protocol::error_code beyond = protocol::error_code::bad_progress);
  void allocate_then_ready(const realm_session_key& key, const protocol::client_ident_message& m);
  void become_ready(realm_session& s, storage::file_ident_grant grant,
                    protocol::version_type cursor, protocol::version_type integrated,
                    protocol::version_type acknowledged);
  void fail_session(const realm_session_key& key, protocol::error_code code, std::string why);
  void lose_realm(const storage::storage_error& why);
  /// The store found this realm's data damaged: log it, count it, end every session fatally.
  void realm_damaged(const storage::storage_error& why);
  /// For a store error: realm_damaged when it is corruption; true when it was.
  bool check_damage(const storage::storage_error& error);

  // ---- downloads
  void send_frame(const realm_session& s, const protocol::server_message& message,
                  bool wants_written, std::size_t changesets);
  void pump(const realm_session_key& key);
  void pump_all();
  void answer_marks(realm_session& s);

  // ---- ownership, idleness, draining
  bool ensure_owned(std::string& why);
  void maybe_idle();
  void maybe_drained();
};

}  // namespace actorsync::server
