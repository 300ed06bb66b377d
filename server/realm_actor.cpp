#include "server/realm_actor.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <map>
#include <optional>
#include <unordered_map>

#include "protocol/codec.hpp"
#include "server/server_messages.hpp"

namespace actorsync::server {

namespace {

using protocol::error_code;
using protocol::version_type;
using session_key = std::pair<caf::actor_addr, bind_id_type>;

struct pending_mark {
  protocol::request_ident request = 0;
  version_type target = 0;  ///< latest server version when the MARK arrived
};

struct realm_session {
  caf::actor connection;
  bind_id_type bind_id = 0;
  protocol::session_ident session = 0;
  bool identifying = false;
  bool ready = false;
  storage::file_ident_grant grant;
  version_type download_cursor = 0;            ///< history sent up to this server version
  version_type integrated_client_version = 0;  ///< the store's figure for this client file
  version_type acknowledged = 0;               ///< integrated_client_version last sent
  std::uint64_t remaining_hint = 0;            ///< downloadable bytes from the last read
  bool download_in_flight = false;
  /// No DOWNLOAD sent on this binding yet: the first is sent even when nothing is owed, so the
  /// client learns the current downloadable figure (its progress targets depend on it).
  bool first_download_owed = false;
  /// In arrival order. A vector, released once answered: an idle session holds no buffer (an
  /// empty std::deque still holds ~600 bytes, per session, on the server).
  std::vector<pending_mark> marks;
};

struct pending_integration {
  session_key key;
  std::chrono::steady_clock::time_point received;
  std::shared_ptr<storage::result<storage::integration_result>> outcome;  ///< set when done
};

struct realm_state {
  context_ptr context;
  caf::actor directory;
  caf::actor allocator;
  std::string path;
  std::map<session_key, realm_session> sessions;
  std::set<caf::actor_addr> monitored;
  version_type latest = 0;
  std::uint64_t binds_seen = 0;
  std::uint64_t next_sequence = 0;
  std::map<std::uint64_t, pending_integration> integrations;  ///< by sequence, completed in order
  std::uint64_t idle_generation = 0;
  std::vector<caf::response_promise> drain_waiters;
  /// This process is the realm's writer (always on one node; a cluster store may refuse or
  /// take the realm away: then sessions are failed retryably and the actor retires at once).
  bool owned = false;
};

using realm_actor = caf::stateful_actor<realm_state>;

void send_frame(realm_actor* self, const realm_session& s, const protocol::server_message& message,
                bool wants_written, std::size_t changesets) {
  self->send(s.connection,
             session_frame{s.bind_id, encode_frame(message), wants_written, changesets});
}

void maybe_idle(realm_actor* self) {
  auto& st = self->state;
  if (!st.sessions.empty() || !st.integrations.empty()) return;
  if (!st.owned) {  // lost or never taken: nothing to keep warm
    self->send(self, realm_idle_check{++st.idle_generation});
    return;
  }
  self->delayed_send(self, st.context->options.realm_idle_timeout,
                     realm_idle_check{++st.idle_generation});
}

// Takes the realm for this process (a no-op on one node); false, with the reason, when another
// node holds it or the database cannot be reached.
bool ensure_owned(realm_actor* self, std::string& why) {
  auto& st = self->state;
  if (st.owned) return true;
  auto taken = st.context->store->acquire(st.path);
  if (!taken) {
    why = taken.error().message;
    return false;
  }
  st.owned = true;
  st.latest = st.context->store->latest_server_version(st.path);
  return true;
}

bool loses_realm(storage::storage_errc code) {
  return code == storage::storage_errc::realm_lost ||
         code == storage::storage_errc::realm_owned_elsewhere ||
         code == storage::storage_errc::unavailable;
}

void maybe_drained(realm_actor* self) {
  auto& st = self->state;
  if (!st.integrations.empty()) return;
  for (auto& promise : st.drain_waiters) promise.deliver(shutdown_done{});
  st.drain_waiters.clear();
}

// Ends a session with a session-level error; the connection sends the ERROR.
void fail_session(realm_actor* self, const session_key& key, error_code code, std::string why) {
  auto& st = self->state;
  auto it = st.sessions.find(key);
  if (it == st.sessions.end()) return;
  spdlog::info("realm[{}] session {} error {}: {}", st.path, it->second.session,
               protocol::to_string(code), why);
  self->send(it->second.connection, session_failed{it->second.bind_id, code, std::move(why)});
  st.sessions.erase(it);
  maybe_idle(self);
}

void answer_marks(realm_actor* self, realm_session& s) {
  auto answered = s.marks.begin();
  while (answered != s.marks.end() && answered->target <= s.download_cursor) {
    send_frame(self, s, protocol::server_mark_message{s.session, answered->request}, false, 0);
    ++answered;
  }
  s.marks.erase(s.marks.begin(), answered);
  if (s.marks.empty()) s.marks.shrink_to_fit();
}

// Sends what this session is owed: history after its cursor (one DOWNLOAD in flight at most)
// or, failing that, a bare acknowledgement; then the MARKs it has earned.
void pump(realm_actor* self, const session_key& key) {
  auto& st = self->state;
  auto it = st.sessions.find(key);
  if (it == st.sessions.end() || !it->second.ready) return;
  auto& s = it->second;
  bool sent_ack = false;
  while (!s.download_in_flight && s.download_cursor < st.latest) {
    auto range = st.context->store->read(st.path, s.download_cursor,
                                         st.context->options.max_download_bytes, s.grant.ident);
    if (!range) {
      fail_session(self, key, error_code::other_session_error,
                   "history read failed: " + range.error().message);
      return;
    }
    auto& r = range.value();
    if (r.server_version <= s.download_cursor) break;  // the store made no progress
    // The store can be ahead of our integration_done messages (another upload's group commit
    // is written, its callback not handled yet). What it returned is committed, so it is the
    // latest now: otherwise this session's next UPLOAD, based on it, would be refused as
    // "beyond the latest" (seen in fanout runs with multiplexing).
    st.latest = std::max(st.latest, r.server_version);
    const auto count = r.changesets.size();
    s.download_cursor = r.server_version;
    s.acknowledged = s.integrated_client_version;
    s.remaining_hint = r.remaining_bytes;
    s.download_in_flight = count > 0;  // credit only for frames that carry history
    s.first_download_owed = false;
    send_frame(self, s,
               protocol::download_message{s.session, r.server_version, s.integrated_client_version,
                                          r.remaining_bytes, std::move(r.changesets)},
               count > 0, count);
    sent_ack = true;
  }
  if (!sent_ack && (s.acknowledged < s.integrated_client_version || s.first_download_owed)) {
    s.acknowledged = s.integrated_client_version;
    s.first_download_owed = false;
    const auto remaining = s.download_cursor >= st.latest ? 0 : s.remaining_hint;
    send_frame(self, s,
               protocol::download_message{
                   s.session, s.download_cursor, s.integrated_client_version, remaining, {}},
               false, 0);
  }
  answer_marks(self, s);
}

void pump_all(realm_actor* self) {
  std::vector<session_key> keys;
  keys.reserve(self->state.sessions.size());
  for (const auto& entry : self->state.sessions) keys.push_back(entry.first);
  for (const auto& key : keys) pump(self, key);
}

session_key sender_key(realm_actor* self, bind_id_type bind_id) {
  return {caf::actor_cast<caf::actor_addr>(self->current_sender()), bind_id};
}

void on_bind(realm_actor* self, const session_bind& bind) {
  auto& st = self->state;
  ++st.binds_seen;
  ++st.idle_generation;  // cancels a pending idle check
  const session_key key{bind.connection.address(), bind.bind_id};
  realm_session s;
  s.connection = bind.connection;
  s.bind_id = bind.bind_id;
  s.session = bind.session;
  st.sessions[key] = std::move(s);
  if (st.monitored.insert(key.first).second) self->monitor(bind.connection);
  spdlog::debug("realm[{}] session {} bound by user {}", st.path, bind.session, bind.user_id);
  self->send(bind.connection, session_bound{bind.bind_id, caf::actor_cast<caf::actor>(self)});
  if (std::string why; !ensure_owned(self, why)) {
    spdlog::warn("realm[{}] cannot be served here: {}", st.path, why);
    fail_session(self, key, error_code::server_busy, "realm unavailable on this server: " + why);
  }
}

void become_ready(realm_actor* self, realm_session& s, storage::file_ident_grant grant,
                  version_type cursor, version_type integrated, version_type acknowledged) {
  s.identifying = false;
  s.ready = true;
  s.first_download_owed = true;
  s.grant = grant;
  s.download_cursor = cursor;
  s.integrated_client_version = integrated;
  s.acknowledged = acknowledged;
  spdlog::debug("realm[{}] session {} ready: file ident {} from server version {}",
                self->state.path, s.session, grant.ident, cursor);
}

void allocate_then_ready(realm_actor* self, const session_key& key,
                         const protocol::client_ident_message& ident) {
  // await: no other message of this realm runs until the ident exists, so an UPLOAD right
  // behind the IDENT finds the session ready.
  self->request(self->state.allocator, tuning::ident_allocation_timeout,
                allocate_ident{self->state.path})
      .await(
          [self, key, ident](const allocated_ident& a) {
            auto it = self->state.sessions.find(key);
            if (it == self->state.sessions.end()) return;
            if (!a.ok) {
              fail_session(self, key, error_code::other_session_error,
                           "file ident allocation failed: " + a.error);
              return;
            }
            become_ready(self, it->second, a.grant, ident.server_version, 0, 0);
            send_frame(
                self, it->second,
                protocol::server_ident_message{it->second.session, a.grant.ident, a.grant.salt},
                false, 0);
            pump(self, key);
          },
          [self, key](const caf::error& e) {
            fail_session(self, key, error_code::other_session_error,
                         "file ident allocation failed: " + self->system().render(e));
          });
}

void on_ident(realm_actor* self, const session_ident_request& m) {
  auto& st = self->state;
  const auto key = sender_key(self, m.bind_id);
  auto it = st.sessions.find(key);
  if (it == st.sessions.end()) return;
  auto& s = it->second;
  const auto& ident = m.ident;
  if (s.ready || s.identifying) {
    return fail_session(self, key, error_code::session_message_order,
                        "second IDENT in one session");
  }
  if (ident.client_file_ident == 0 && ident.file_ident_salt != 0) {
    return fail_session(self, key, error_code::bad_client_file_ident,
                        "IDENT requesting a file ident carries a salt");
  }
  // A replica without a file ident has uploaded nothing. (It may hold history already: a
  // non-zero server version is where its download starts.)
  if (ident.client_file_ident == 0 && ident.last_integrated_client_version != 0) {
    return fail_session(self, key, error_code::bad_progress,
                        "IDENT requesting a file ident claims integrated client versions");
  }
  if (ident.server_version > st.latest) {
    return fail_session(self, key, error_code::bad_progress,
                        "IDENT download cursor " + std::to_string(ident.server_version) +
                            " is beyond the latest server version " + std::to_string(st.latest));
  }
  if (ident.client_file_ident == 0) {
    s.identifying = true;
    return allocate_then_ready(self, key, ident);
  }
  const storage::file_ident_grant grant{ident.client_file_ident, ident.file_ident_salt};
  if (!st.context->store->is_valid_client_file_ident(st.path, grant)) {
    return fail_session(self, key, error_code::bad_client_file_ident,
                        "client file ident " + std::to_string(grant.ident) +
                            " with this salt was never allocated in this realm");
  }
  const auto integrated = st.context->store->last_integrated_client_version(st.path, grant.ident);
  if (ident.last_integrated_client_version > integrated) {
    return fail_session(self, key, error_code::bad_progress,
                        "IDENT claims client version " +
                            std::to_string(ident.last_integrated_client_version) +
                            " was integrated; the server has " + std::to_string(integrated));
  }
  become_ready(self, s, grant, ident.server_version, integrated,
               ident.last_integrated_client_version);
  pump(self, key);
}

void on_upload(realm_actor* self, const session_upload& m) {
  auto& st = self->state;
  const auto key = sender_key(self, m.bind_id);
  auto it = st.sessions.find(key);
  if (it == st.sessions.end()) return;
  auto& s = it->second;
  if (!s.ready)
    return fail_session(self, key, error_code::session_message_order, "UPLOAD before IDENT");
  auto& upload = *m.upload;
  if (upload.last_integrated_server_version > st.latest) {
    return fail_session(self, key, error_code::bad_progress,
                        "UPLOAD claims server version " +
                            std::to_string(upload.last_integrated_server_version) +
                            " beyond the latest " + std::to_string(st.latest));
  }
  for (const auto& c : upload.changesets) {
    if (c.last_integrated_server_version > st.latest) {
      return fail_session(self, key, error_code::bad_progress,
                          "changeset based on a server version that does not exist");
    }
  }
  if (upload.changesets.empty()) return;
  const auto sequence = st.next_sequence++;
  st.integrations[sequence] = pending_integration{key, m.received, nullptr};
  auto me = caf::actor_cast<caf::actor>(self);
  // Runs on the store's writer thread: only a message goes back to the realm.
  st.context->store->integrate_async(
      st.path, s.grant, std::move(upload.changesets),
      [me, sequence](storage::result<storage::integration_result> outcome) {
        caf::anon_send(
            me, integration_done{sequence,
                                 std::make_shared<storage::result<storage::integration_result>>(
                                     std::move(outcome))});
      });
}

error_code to_protocol_error(storage::storage_errc code) {
  switch (code) {
    case storage::storage_errc::bad_changeset:
      return error_code::bad_changeset;
    case storage::storage_errc::bad_client_file_ident:
      return error_code::bad_client_file_ident;
    case storage::storage_errc::bad_progress:
      return error_code::bad_progress;
    case storage::storage_errc::invalid_argument:
      return error_code::bad_client_version;
    case storage::storage_errc::closed:
    case storage::storage_errc::realm_lost:
    case storage::storage_errc::realm_owned_elsewhere:
    case storage::storage_errc::unavailable:
      return error_code::server_busy;
    default:
      return error_code::other_session_error;
  }
}

// Another node took the realm (fenced commit) or the database failed: nothing in flight will be
// acknowledged, so every session ends with a retryable ERROR (clients bind again, and find the
// realm's owner or a re-acquired realm) and the actor retires once its integrations are back.
void lose_realm(realm_actor* self, const storage::storage_error& why) {
  auto& st = self->state;
  spdlog::warn("realm[{}] lost: {}", st.path, why.message);
  st.owned = false;
  std::vector<session_key> keys;
  for (const auto& entry : st.sessions) keys.push_back(entry.first);
  for (const auto& key : keys) {
    fail_session(self, key, error_code::server_busy, "realm moved or unavailable: " + why.message);
  }
  maybe_drained(self);
  maybe_idle(self);
}

void on_integration_done(realm_actor* self, integration_done& done) {
  auto& st = self->state;
  auto it = st.integrations.find(done.sequence);
  if (it == st.integrations.end()) return;
  it->second.outcome = std::move(done.outcome);
  // Complete strictly in upload order, whatever order the store's callbacks came in.
  bool integrated_any = false;
  std::optional<storage::storage_error> lost;
  while (!st.integrations.empty() && st.integrations.begin()->second.outcome) {
    auto node = st.integrations.extract(st.integrations.begin());
    auto& pending = node.mapped();
    auto& outcome = *pending.outcome;
    if (!outcome) {
      if (loses_realm(outcome.error().code)) lost = outcome.error();
      fail_session(self, pending.key, to_protocol_error(outcome.error().code),
                   outcome.error().message);
      continue;
    }
    const auto& r = outcome.value();
    auto& metrics = *st.context->metrics;
    metrics.changesets_integrated.fetch_add(r.integrated, std::memory_order_relaxed);
    metrics.bytes_integrated.fetch_add(r.integrated_bytes, std::memory_order_relaxed);
    metrics.record_integration(std::chrono::steady_clock::now() - pending.received);
    st.latest = std::max(st.latest, r.server_version);
    if (auto s = st.sessions.find(pending.key); s != st.sessions.end()) {
      s->second.integrated_client_version =
          std::max(s->second.integrated_client_version, r.last_integrated_client_version);
    }
    integrated_any = true;
  }
  if (lost) return lose_realm(self, *lost);
  if (integrated_any) pump_all(self);
  maybe_drained(self);
  maybe_idle(self);
}

void on_mark(realm_actor* self, const session_mark& m) {
  const auto key = sender_key(self, m.bind_id);
  auto it = self->state.sessions.find(key);
  if (it == self->state.sessions.end()) return;
  if (!it->second.ready) {
    return fail_session(self, key, error_code::session_message_order, "MARK before IDENT");
  }
  it->second.marks.push_back({m.request, self->state.latest});
  pump(self, key);
}

void on_unbind(realm_actor* self, const session_unbind& m) {
  self->state.sessions.erase(sender_key(self, m.bind_id));
  maybe_idle(self);
}

void on_download_written(realm_actor* self, const download_written& m) {
  const auto key = sender_key(self, m.bind_id);
  auto it = self->state.sessions.find(key);
  if (it == self->state.sessions.end()) return;
  it->second.download_in_flight = false;
  pump(self, key);
}

void on_connection_down(realm_actor* self, const caf::down_msg& down) {
  auto& st = self->state;
  st.monitored.erase(down.source);
  for (auto it = st.sessions.begin(); it != st.sessions.end();) {
    it = it->first.first == down.source ? st.sessions.erase(it) : std::next(it);
  }
  maybe_idle(self);
}

caf::behavior realm_behavior(realm_actor* self, context_ptr context, caf::actor directory,
                             caf::actor allocator, std::string path) {
  auto& st = self->state;
  st.context = std::move(context);
  st.directory = std::move(directory);
  st.allocator = std::move(allocator);
  st.path = std::move(path);
  if (std::string why; !ensure_owned(self, why)) {
    spdlog::warn("realm[{}] not acquired at start: {}", st.path, why);
  }
  auto metrics = st.context->metrics;
  metrics->active_realms.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor(
      [metrics] { metrics->active_realms.fetch_sub(1, std::memory_order_relaxed); });
  self->set_down_handler([self](caf::down_msg& down) { on_connection_down(self, down); });
  self->set_error_handler([self](caf::error& e) {
    spdlog::warn("realm[{}] error: {}", self->state.path, self->system().render(e));
  });
  self->set_default_handler(log_and_drop);
  spdlog::debug("realm[{}] active at server version {}", st.path, st.latest);
  return {
      [self](const session_bind& m) { on_bind(self, m); },
      [self](const session_ident_request& m) { on_ident(self, m); },
      [self](const session_upload& m) { on_upload(self, m); },
      [self](integration_done& m) { on_integration_done(self, m); },
      [self](const session_mark& m) { on_mark(self, m); },
      [self](const session_unbind& m) { on_unbind(self, m); },
      [self](const download_written& m) { on_download_written(self, m); },
      [self](const realm_idle_check& m) {
        auto& st = self->state;
        if (m.generation != st.idle_generation || !st.sessions.empty() ||
            !st.integrations.empty()) {
          return;
        }
        self->send(st.directory, realm_idle{st.path, st.binds_seen});
      },
      [self](realm_retire) {
        if (!self->state.sessions.empty() || !self->state.integrations.empty()) return;
        spdlog::debug("realm[{}] idle, stopping", self->state.path);
        // Nothing in flight: let another node take the realm without waiting for our lease.
        if (self->state.owned) self->state.context->store->release(self->state.path);
        self->quit();
      },
      [self](drain) -> caf::result<shutdown_done> {
        if (self->state.integrations.empty()) return shutdown_done{};
        auto promise = self->make_response_promise();
        self->state.drain_waiters.push_back(promise);
        return caf::delegated<shutdown_done>{};
      },
  };
}

}  // namespace

caf::actor spawn_realm_actor(caf::actor_system& system, context_ptr context, caf::actor directory,
                             caf::actor allocator, std::string realm_path) {
  return system.spawn(realm_behavior, std::move(context), std::move(directory),
                      std::move(allocator), std::move(realm_path));
}

namespace {

/// Allocations handed to the store, answered when its group commit made them durable.
struct ident_allocator_state {
  std::uint64_t next_request = 0;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<allocated_ident>> waiting;
};

using ident_allocator = caf::stateful_actor<ident_allocator_state>;

allocated_ident to_allocated(const storage::result<storage::file_ident_grant>& grant) {
  if (!grant) return allocated_ident{false, {}, grant.error().message};
  return allocated_ident{true, grant.value(), {}};
}

// Spawned with its context as an argument: CAF 0.17's init_fun_factory dereferences a null
// argument tuple (undefined behaviour UBSan reports) when a function actor takes none.
caf::behavior ident_allocator_behavior(ident_allocator* self, context_ptr context) {
  self->set_default_handler(log_and_drop);
  self->set_error_handler([self](caf::error& e) {
    spdlog::warn("ident allocator error: {}", self->system().render(e));
  });
  return {
      [self, context](const allocate_ident& m) -> caf::result<allocated_ident> {
        auto& st = self->state;
        const auto request = st.next_request++;
        auto promise = self->make_response_promise<allocated_ident>();
        st.waiting.emplace(request, promise);
        auto me = caf::actor_cast<caf::actor>(self);
        // The callback runs on the store's writer thread: only a message comes back here.
        context->store->allocate_client_file_ident_async(
            m.realm_path, [me, request](storage::result<storage::file_ident_grant> grant) {
              caf::anon_send(me, ident_written{request, to_allocated(grant)});
            });
        return promise;
      },
      [self](const ident_written& m) {
        auto node = self->state.waiting.extract(m.request);
        if (!node.empty()) node.mapped().deliver(m.outcome);
      },
  };
}

}  // namespace

caf::actor spawn_ident_allocator(caf::actor_system& system, context_ptr context) {
  // Event-based: it never blocks, the store's writer thread does the (group) write and fsync.
  return system.spawn(ident_allocator_behavior, std::move(context));
}

}  // namespace actorsync::server
