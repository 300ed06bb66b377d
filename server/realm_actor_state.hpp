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
  /// This process is the realm's writer (always on one node; a cluster store may refuse or
  /// take the realm away: then sessions are failed retryably and the actor retires at once).
  bool owned = false;

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
  void idle_check(const realm_idle_check& m);
  void retire();
  caf::result<shutdown_done> drain_integrations();

  // ---- sessions
  realm_session_key sender_key(bind_id_type bind_id) const;
  void allocate_then_ready(const realm_session_key& key, const protocol::client_ident_message& m);
  void become_ready(realm_session& s, storage::file_ident_grant grant,
                    protocol::version_type cursor, protocol::version_type integrated,
                    protocol::version_type acknowledged);
  void fail_session(const realm_session_key& key, protocol::error_code code, std::string why);
  void lose_realm(const storage::storage_error& why);

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
