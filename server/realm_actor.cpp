// The realm actor's behaviour, session handling and downloads. See realm_actor.hpp (contract)
// and realm_actor_state.hpp (state).
#include "server/realm_actor.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <optional>

#include <actorsync/server/server_tuning.hpp>
#include "cluster/pg_history_store.hpp"
#include "protocol/codec.hpp"
#include "server/cluster_service.hpp"
#include "server/realm_actor_state.hpp"

namespace actorsync::server {

namespace {

using protocol::error_code;
using protocol::version_type;
using self_pointer = realm_actor_state::self_pointer;

realm_actor_impl::behavior_type realm_behavior(self_pointer self, context_ptr context,
                                               realm_directory_actor directory,
                                               ident_allocator_actor allocator, std::string path) {
  auto* st = &self->state;
  st->self = self;
  st->context = std::move(context);
  st->directory = std::move(directory);
  st->allocator = std::move(allocator);
  st->path = std::move(path);
  st->start();
  self->set_down_handler([st](caf::down_msg& down) { st->connection_down(down); });
  self->set_error_handler([st](caf::error& e) {
    spdlog::warn("realm[{}] error: {}", st->path, st->self->system().render(e));
  });
  self->set_default_handler(log_and_drop);
  return {
      [st](const session_bind& m) { st->bind(m); },
      [st](const session_ident_request& m) { st->ident(m); },
      [st](const session_upload& m) { st->upload(m); },
      [st](integration_done& m) { st->integrated(m); },
      [st](const session_mark& m) { st->mark(m); },
      [st](const session_unbind& m) { st->unbind(m); },
      [st](const download_written& m) { st->download_was_written(m); },
      [st](const realm_idle_check& m) { st->idle_check(m); },
      [st](realm_retire) { st->retire(); },
      [st](drain) { return st->drain_integrations(); },
      [st](const remote_request& m) { st->remote(m); },
      [st](const realm_changed& m) { st->changed(m.version); },
      [st](const owner_replied& m) { st->owner_answered(m); },
      [st](const follower_poll& m) { st->poll(m); },
      [st](const rebalance& m) { st->rebalanced(m.live_nodes); },
  };
}

}  // namespace

bool loses_realm(storage::storage_errc code) {
  return code == storage::storage_errc::realm_lost ||
         code == storage::storage_errc::realm_owned_elsewhere ||
         code == storage::storage_errc::unavailable;
}

error_code to_protocol_error(storage::storage_errc code) {
  switch (code) {
    case storage::storage_errc::storage_full:
      return error_code::storage_full;
    case storage::storage_errc::corruption:
      return error_code::storage_corruption;
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

// The disk-full state is the server's, not one realm's: the first refusal says so once, the
// first write after space returned says that once too.
static void note_write_outcome(server_metrics& metrics, const std::string& path,
                               const storage::storage_error* refused) {
  if (refused != nullptr && refused->code == storage::storage_errc::storage_full) {
    metrics.writes_refused_disk_full.fetch_add(1, std::memory_order_relaxed);
    if (metrics.disk_full.exchange(1) == 0) {
      spdlog::error(
          "disk full: uploads and new file idents are refused (retryable ERROR storage_full), "
          "downloads go on; first refused at realm[{}]: {}",
          path, refused->message);
    }
  } else if (refused == nullptr && metrics.disk_full.exchange(0) == 1) {
    spdlog::warn("disk space returned: uploads are accepted again (realm[{}] wrote first)", path);
  }
}

void realm_actor_state::start() {
  if (clustered()) {
    // A follower until this node is asked to take the realm: reads need no ownership (a failed
    // read leaves 0: the first check against it asks again).
    latest = context->store->latest_server_version(path);
  } else if (std::string why; !ensure_owned(why)) {
    spdlog::warn("realm[{}] not acquired at start: {}", path, why);
  }
  auto metrics = context->metrics;
  metrics->active_realms.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor(
      [metrics] { metrics->active_realms.fetch_sub(1, std::memory_order_relaxed); });
  spdlog::debug("realm[{}] active at server version {}", path, latest);
}

// ---- ownership, idleness, draining -----------------------------------------------------------

void realm_actor_state::maybe_idle() {
  if (!sessions.empty() || !integrations.empty()) return;
  if (!owned) {  // lost or never taken: nothing to keep warm
    self->send(self, realm_idle_check{++idle_generation});
    return;
  }
  self->delayed_send(self, context->options.realm_idle_timeout,
                     realm_idle_check{++idle_generation});
}

// Takes the realm for this process (a no-op on one node); false, with the reason, when another
// node holds it or the database cannot be reached.
bool realm_actor_state::ensure_owned(std::string& why) {
  if (owned) return true;
  auto taken = context->store->acquire(path);
  if (!taken) {
    why = taken.error().message;
    return false;
  }
  owned = true;
  latest = context->store->latest_server_version(path);
  return true;
}

void realm_actor_state::maybe_drained() {
  if (!integrations.empty()) return;
  // A draining cluster node, or one whose realm has a new preferred owner, hands it over as
  // soon as its writes are done.
  if (clustered() && (!drain_waiters.empty() || handing_over)) {
    handing_over = false;
    stop_serving();
    arm_poll();
  }
  for (auto& promise : drain_waiters) promise.deliver(shutdown_done{});
  drain_waiters.clear();
}

void realm_actor_state::idle_check(const realm_idle_check& m) {
  if (m.generation != idle_generation || !sessions.empty() || !integrations.empty()) return;
  self->send(directory, realm_idle{path, binds_seen});
}

void realm_actor_state::retire() {
  if (!sessions.empty() || !integrations.empty()) return;
  spdlog::debug("realm[{}] idle, stopping", path);
  // Nothing in flight: let another node take the realm without waiting for our lease.
  stop_serving();
  self->quit();
}

caf::result<shutdown_done> realm_actor_state::drain_integrations() {
  if (integrations.empty()) {
    if (clustered()) stop_serving();
    return shutdown_done{};
  }
  drain_waiters.push_back(self->make_response_promise<shutdown_done>());
  return caf::delegated<shutdown_done>{};
}

// ---- sessions --------------------------------------------------------------------------------

// Ends a session with a session-level error; the connection sends the ERROR.
void realm_actor_state::fail_session(const realm_session_key& key, error_code code,
                                     std::string why) {
  auto it = sessions.find(key);
  if (it == sessions.end()) return;
  spdlog::info("realm[{}] session {} error {}: {}", path, it->second.session,
               protocol::to_string(code), why);
  forwards.erase(key);
  self->send(it->second.connection, session_failed{it->second.bind_id, code, std::move(why)});
  sessions.erase(it);
  maybe_idle();
}

// Fails the session (and returns false) when `version` is beyond the realm's history: for good
// when it is, retryably when the database cannot tell now. A follower's figure may trail the
// owner's, so it asks the database before refusing.
bool realm_actor_state::known_version(const realm_session_key& key, version_type version,
                                      std::string_view what, error_code beyond) {
  if (version > latest && clustered()) {
    // An owner's figure is its memory, which a node stalled past its lease cannot trust.
    if (owned && !context->cluster->store().confirm_owned(path)) forget_ownership();
    auto head = context->store->try_latest_server_version(path);
    if (!head) {
      fail_session(key, error_code::server_busy,
                   "the realm's history cannot be read now: " + head.error().message);
      return false;
    }
    latest = std::max(latest, head.value());
  }
  if (version <= latest) return true;
  fail_session(key, beyond,
               std::string(what) + " " + std::to_string(version) +
                   " is beyond the latest server version " + std::to_string(latest));
  return false;
}

realm_session_key realm_actor_state::sender_key(bind_id_type bind_id) const {
  return {caf::actor_cast<caf::actor_addr>(self->current_sender()), bind_id};
}

void realm_actor_state::bind(const session_bind& bind) {
  ++binds_seen;
  ++idle_generation;  // cancels a pending idle check
  const realm_session_key key{bind.connection.address(), bind.bind_id};
  realm_session s;
  s.connection = bind.connection;
  s.bind_id = bind.bind_id;
  s.session = bind.session;
  sessions[key] = std::move(s);
  if (monitored.insert(key.first).second) self->monitor(bind.connection);
  spdlog::debug("realm[{}] session {} bound by user {}", path, bind.session, bind.user_id);
  self->send(bind.connection, session_bound{bind.bind_id, caf::actor_cast<realm_actor>(self)});
  if (damaged) return fail_session(key, error_code::storage_corruption, *damaged);
  if (clustered()) return arm_poll();
  if (std::string why; !ensure_owned(why)) {
    spdlog::warn("realm[{}] cannot be served here: {}", path, why);
    fail_session(key, error_code::server_busy, "realm unavailable on this server: " + why);
  }
}

void realm_actor_state::become_ready(realm_session& s, storage::file_ident_grant grant,
                                     version_type cursor, version_type integrated,
                                     version_type acknowledged) {
  s.identifying = false;
  s.ready = true;
  s.first_download_owed = true;
  s.grant = grant;
  s.download_cursor = cursor;
  s.integrated_client_version = integrated;
  s.acknowledged = acknowledged;
  spdlog::debug("realm[{}] session {} ready: file ident {} from server version {}", path, s.session,
                grant.ident, cursor);
}

void realm_actor_state::allocate_then_ready(const realm_session_key& key,
                                            const protocol::client_ident_message& ident) {
  auto granted = [this, key, ident](const allocated_ident& a) {
    auto it = sessions.find(key);
    if (it == sessions.end()) return;
    if (!a.ok) {
      const storage::storage_error refused{a.code, a.error};
      note_write_outcome(*context->metrics, path, &refused);
      if (check_damage(refused)) return;
      // A cluster node whose realm was taken learns it here if not by a write: it serves the
      // realm as a follower from now on, and the client, told to retry, binds again.
      if (loses_realm(a.code) && clustered()) forget_ownership();
      fail_session(key, to_protocol_error(a.code), "file ident allocation failed: " + a.error);
      return;
    }
    note_write_outcome(*context->metrics, path, nullptr);
    become_ready(it->second, a.grant, ident.server_version, 0, 0);
    send_frame(it->second,
               protocol::server_ident_message{it->second.session, a.grant.ident, a.grant.salt},
               false, 0);
    if (auto f = forwards.find(key); f != forwards.end() && !f->second.in_flight) {
      send_forward(key);  // uploads that arrived while the owner was granting
    }
    pump(key);
  };
  auto failed = [this, key](const caf::error& e) {
    fail_session(key, error_code::other_session_error,
                 "file ident allocation failed: " + self->system().render(e));
  };
  auto request = self->request(allocator, tuning::ident_allocation_timeout,
                               allocate_ident{path, clustered() && !writes_here()});
  if (clustered()) {
    // Not await: the grant may need this very actor to take the realm first (a take request
    // from the router), and uploads and MARKs meanwhile are queued for the session.
    request.then(std::move(granted), std::move(failed));
  } else {
    // await: no other message of this realm runs until the ident exists, so an UPLOAD right
    // behind the IDENT finds the session ready.
    request.await(std::move(granted), std::move(failed));
  }
}

void realm_actor_state::ident(const session_ident_request& m) {
  const auto key = sender_key(m.bind_id);
  auto it = sessions.find(key);
  if (it == sessions.end()) return;
  auto& s = it->second;
  const auto& ident = m.ident;
  if (s.ready || s.identifying) {
    return fail_session(key, error_code::session_message_order, "second IDENT in one session");
  }
  if (ident.client_file_ident == 0 && ident.file_ident_salt != 0) {
    return fail_session(key, error_code::bad_client_file_ident,
                        "IDENT requesting a file ident carries a salt");
  }
  // A replica without a file ident has uploaded nothing. (It may hold history already: a
  // non-zero server version is where its download starts.)
  if (ident.client_file_ident == 0 && ident.last_integrated_client_version != 0) {
    return fail_session(key, error_code::bad_progress,
                        "IDENT requesting a file ident claims integrated client versions");
  }
  // A replica ahead of the history (the server's data is older than what it saw) must reset.
  if (!known_version(key, ident.server_version, "IDENT download cursor",
                     error_code::bad_server_version))
    return;
  if (ident.client_file_ident == 0) {
    s.identifying = true;
    return allocate_then_ready(key, ident);
  }
  const storage::file_ident_grant grant{ident.client_file_ident, ident.file_ident_salt};
  auto valid = context->store->try_is_valid_client_file_ident(path, grant);
  auto integrated_now = context->store->try_last_integrated_client_version(path, grant.ident);
  if (!valid || !integrated_now) {
    const auto& error = !valid ? valid.error() : integrated_now.error();
    if (check_damage(error)) return;
    return fail_session(key, to_protocol_error(error.code),
                        "the client's record cannot be read now: " + error.message);
  }
  if (!valid.value()) {
    return fail_session(key, error_code::bad_client_file_ident,
                        "client file ident " + std::to_string(grant.ident) +
                            " with this salt was never allocated in this realm");
  }
  const auto integrated = integrated_now.value();
  if (ident.last_integrated_client_version > integrated) {
    return fail_session(key, error_code::bad_server_version,
                        "IDENT claims client version " +
                            std::to_string(ident.last_integrated_client_version) +
                            " was integrated; the server has " + std::to_string(integrated));
  }
  become_ready(s, grant, ident.server_version, integrated, ident.last_integrated_client_version);
  pump(key);
}

void realm_actor_state::upload(const session_upload& m) {
  const auto key = sender_key(m.bind_id);
  auto it = sessions.find(key);
  if (it == sessions.end()) return;
  auto& s = it->second;
  const bool waits_for_grant = s.identifying && clustered();
  if (!s.ready && !waits_for_grant) {
    return fail_session(key, error_code::session_message_order, "UPLOAD before IDENT");
  }
  auto& message = *m.upload;
  if (!known_version(key, message.last_integrated_server_version, "UPLOAD's server version")) {
    return;
  }
  for (const auto& c : message.changesets) {
    if (!known_version(key, c.last_integrated_server_version, "a changeset's server version")) {
      return;
    }
  }
  if (message.changesets.empty()) return;
  // A session with a forward in flight keeps forwarding until it is answered, even once this
  // node owns the realm: its next changesets must not reach the store before the earlier ones.
  if (clustered() && (!writes_here() || forwards.count(key) != 0 || waits_for_grant)) {
    return forward_upload(key, std::move(message.changesets));
  }
  integrate_locally(key, m.received, std::move(message.changesets));
}

void realm_actor_state::integrate_locally(const realm_session_key& key,
                                          std::chrono::steady_clock::time_point received,
                                          std::vector<protocol::changeset> changesets) {
  auto it = sessions.find(key);
  if (it == sessions.end()) return;
  const auto sequence = next_sequence++;
  integrations[sequence] = pending_integration{key, received, nullptr};
  auto me = caf::actor_cast<realm_actor_impl>(self);
  // Runs on the store's writer thread: only a message goes back to the realm.
  context->store->integrate_async(
      path, it->second.grant, std::move(changesets),
      [me, sequence](storage::result<storage::integration_result> outcome) {
        caf::anon_send(
            me, integration_done{sequence,
                                 std::make_shared<storage::result<storage::integration_result>>(
                                     std::move(outcome))});
      });
}

// Another node took the realm (fenced commit) or the database failed: nothing in flight will be
// acknowledged, so every session ends with a retryable ERROR (clients bind again, and find the
// realm's owner or a re-acquired realm) and the actor retires once its integrations are back.
void realm_actor_state::lose_realm(const storage::storage_error& why) {
  spdlog::warn("realm[{}] lost: {}", path, why.message);
  owned = false;
  if (clustered()) {
    // The sessions whose writes were refused are failed already; the others stay, served as a
    // follower: their next uploads go to whichever node owns the realm now.
    forget_ownership();
    maybe_drained();
    return maybe_idle();
  }
  std::vector<realm_session_key> keys;
  for (const auto& entry : sessions) keys.push_back(entry.first);
  for (const auto& key : keys) {
    fail_session(key, error_code::server_busy, "realm moved or unavailable: " + why.message);
  }
  maybe_drained();
  maybe_idle();
}

// Retrying cannot help a damaged realm (the same read fails again), so its clients are told
// it is fatal instead of trying again forever; the realm's other state and every other realm
// go on. The operator learns it from the log line and actorsync_realm_storage_corruptions_total.
void realm_actor_state::realm_damaged(const storage::storage_error& why) {
  if (!damaged) {
    damaged = "the server's stored copy of realm " + path + " is damaged: " + why.message;
    context->metrics->realm_storage_corruptions.fetch_add(1, std::memory_order_relaxed);
    spdlog::error(
        "realm[{}] storage corruption: {}; its sessions get ERROR storage_corruption (fatal); "
        "stop the server, run actorsync-server --verify and restore the data directory",
        path, why.message);
  }
  std::vector<realm_session_key> keys;
  for (const auto& entry : sessions) keys.push_back(entry.first);
  for (const auto& key : keys) fail_session(key, error_code::storage_corruption, *damaged);
  maybe_drained();
  maybe_idle();
}

bool realm_actor_state::check_damage(const storage::storage_error& error) {
  if (error.code != storage::storage_errc::corruption) return false;
  realm_damaged(error);
  return true;
}

void realm_actor_state::integrated(integration_done& done) {
  auto it = integrations.find(done.sequence);
  if (it == integrations.end()) return;
  it->second.outcome = std::move(done.outcome);
  // Complete strictly in upload order, whatever order the store's callbacks came in.
  bool integrated_any = false;
  std::optional<storage::storage_error> lost, corrupt;
  while (!integrations.empty() && integrations.begin()->second.outcome) {
    auto node = integrations.extract(integrations.begin());
    auto& pending = node.mapped();
    auto& outcome = *pending.outcome;
    note_write_outcome(*context->metrics, path, outcome ? nullptr : &outcome.error());
    if (!outcome) {
      if (loses_realm(outcome.error().code)) lost = outcome.error();
      if (outcome.error().code == storage::storage_errc::corruption) corrupt = outcome.error();
      fail_session(pending.key, to_protocol_error(outcome.error().code), outcome.error().message);
      continue;
    }
    const auto& r = outcome.value();
    auto& metrics = *context->metrics;
    metrics.changesets_integrated.fetch_add(r.integrated, std::memory_order_relaxed);
    metrics.bytes_integrated.fetch_add(r.integrated_bytes, std::memory_order_relaxed);
    metrics.record_integration(std::chrono::steady_clock::now() - pending.received);
    latest = std::max(latest, r.server_version);
    if (auto s = sessions.find(pending.key); s != sessions.end()) {
      s->second.integrated_client_version =
          std::max(s->second.integrated_client_version, r.last_integrated_client_version);
    }
    integrated_any = true;
  }
  if (lost) return lose_realm(*lost);
  if (corrupt) return realm_damaged(*corrupt);
  if (integrated_any) {
    pump_all();
    if (clustered()) context->cluster->publish_change(path, latest);
  }
  maybe_drained();
  maybe_idle();
}

void realm_actor_state::mark(const session_mark& m) {
  const auto key = sender_key(m.bind_id);
  auto it = sessions.find(key);
  if (it == sessions.end()) return;
  // A follower's IDENT may wait for the owner's grant: a MARK meanwhile is answered later.
  if (!it->second.ready && !it->second.identifying) {
    return fail_session(key, error_code::session_message_order, "MARK before IDENT");
  }
  it->second.marks.push_back({m.request, latest});
  pump(key);
}

void realm_actor_state::unbind(const session_unbind& m) {
  sessions.erase(sender_key(m.bind_id));
  forwards.erase(sender_key(m.bind_id));
  maybe_idle();
}

void realm_actor_state::download_was_written(const download_written& m) {
  const auto key = sender_key(m.bind_id);
  auto it = sessions.find(key);
  if (it == sessions.end()) return;
  it->second.download_in_flight = false;
  pump(key);
}

void realm_actor_state::connection_down(const caf::down_msg& down) {
  monitored.erase(down.source);
  for (auto it = sessions.begin(); it != sessions.end();) {
    it = it->first.first == down.source ? sessions.erase(it) : std::next(it);
  }
  for (auto it = forwards.begin(); it != forwards.end();) {
    it = it->first.first == down.source ? forwards.erase(it) : std::next(it);
  }
  maybe_idle();
}

// ---- downloads -------------------------------------------------------------------------------

void realm_actor_state::send_frame(const realm_session& s, const protocol::server_message& message,
                                   bool wants_written, std::size_t changesets) {
  self->send(s.connection,
             session_frame{s.bind_id, encode_frame(message), wants_written, changesets});
}

void realm_actor_state::answer_marks(realm_session& s) {
  auto answered = s.marks.begin();
  while (answered != s.marks.end() && answered->target <= s.download_cursor) {
    send_frame(s, protocol::server_mark_message{s.session, answered->request}, false, 0);
    ++answered;
  }
  s.marks.erase(s.marks.begin(), answered);
  if (s.marks.empty()) s.marks.shrink_to_fit();
}

// Sends what this session is owed: history after its cursor (one DOWNLOAD in flight at most)
// or, failing that, a bare acknowledgement; then the MARKs it has earned.
void realm_actor_state::pump(const realm_session_key& key) {
  auto it = sessions.find(key);
  if (it == sessions.end() || !it->second.ready) return;
  auto& s = it->second;
  bool sent_ack = false;
  while (!s.download_in_flight && s.download_cursor < latest) {
    auto range = context->store->read(path, s.download_cursor, context->options.max_download_bytes,
                                      s.grant.ident);
    if (!range) {
      if (check_damage(range.error())) return;
      // Retryable when the database is unavailable (cluster), not when the store is broken.
      const auto code = range.error().code == storage::storage_errc::unavailable
                            ? error_code::server_busy
                            : error_code::other_session_error;
      fail_session(key, code, "history read failed: " + range.error().message);
      return;
    }
    auto& r = range.value();
    if (r.server_version <= s.download_cursor) break;  // the store made no progress
    // The store can be ahead of our integration_done messages (another upload's group commit
    // is written, its callback not handled yet). What it returned is committed, so it is the
    // latest now: otherwise this session's next UPLOAD, based on it, would be refused as
    // "beyond the latest" (seen in fanout runs with multiplexing).
    latest = std::max(latest, r.server_version);
    const auto count = r.changesets.size();
    s.download_cursor = r.server_version;
    s.acknowledged = s.integrated_client_version;
    s.remaining_hint = r.remaining_bytes;
    s.download_in_flight = count > 0;  // credit only for frames that carry history
    s.first_download_owed = false;
    send_frame(s,
               protocol::download_message{s.session, r.server_version, s.integrated_client_version,
                                          r.remaining_bytes, std::move(r.changesets)},
               count > 0, count);
    sent_ack = true;
  }
  if (!sent_ack && (s.acknowledged < s.integrated_client_version || s.first_download_owed)) {
    s.acknowledged = s.integrated_client_version;
    s.first_download_owed = false;
    const auto remaining = s.download_cursor >= latest ? 0 : s.remaining_hint;
    send_frame(s,
               protocol::download_message{
                   s.session, s.download_cursor, s.integrated_client_version, remaining, {}},
               false, 0);
  }
  answer_marks(s);
}

void realm_actor_state::pump_all() {
  std::vector<realm_session_key> keys;
  keys.reserve(sessions.size());
  for (const auto& entry : sessions) keys.push_back(entry.first);
  for (const auto& key : keys) pump(key);
}

realm_actor spawn_realm_actor(caf::actor_system& system, context_ptr context,
                              realm_directory_actor directory, ident_allocator_actor allocator,
                              std::string realm_path) {
  return system.spawn(realm_behavior, std::move(context), std::move(directory),
                      std::move(allocator), std::move(realm_path));
}

}  // namespace actorsync::server
