#include <actorsync/api/sync_session.hpp>

#include <spdlog/spdlog.h>

#include <optional>
#include <utility>

#include "api/runtime_bridge.hpp"

namespace actorsync::api {

using runtime::wait_outcome;
using runtime::wait_status;

namespace {

const wait_outcome session_gone{wait_status::error, runtime::sync_errc::session_stopped};

/// The session's registrations, created at the first. Call with owner->callbacks_mutex held.
session_callbacks& callbacks(sync_session::impl& session) {
  if (!session.callbacks) session.callbacks = std::make_unique<session_callbacks>();
  return *session.callbacks;
}

/// Closes the gate and stops the forwarder: the session forgets its subscriptions when it sees
/// the forwarder go. True when the registration was live.
bool retire(callback_registration& r) {
  const bool live = r.gate->close();
  caf::anon_send_exit(r.forwarder, caf::exit_reason::user_shutdown);
  return live;
}

/// Takes the registration `token` out of `session` (call with the app's callbacks mutex held).
/// Empty when the token is not this session's.
std::optional<callback_registration> take_registration(sync_session::impl& session,
                                                       std::uint64_t token) {
  if (!session.callbacks) return std::nullopt;
  for (auto* registered : {&session.callbacks->progress, &session.callbacks->connection}) {
    if (auto i = registered->find(token); i != registered->end()) {
      auto r = std::move(i->second);
      registered->erase(i);
      session.owner->notification_owners.erase(token);
      return r;
    }
  }
  return std::nullopt;
}

/// Removes the registration `token` of `map` (under the app's callbacks mutex) and retires it
/// outside that mutex (closing a gate waits for a running callback, which may itself be
/// registering a callback on another session).
template <class Map>
bool remove_registration(sync_session::impl& session, Map session_callbacks::*map,
                         std::uint64_t token) {
  std::optional<callback_registration> r;
  {
    std::lock_guard lock(session.owner->callbacks_mutex);
    if (!session.callbacks || !(session.callbacks.get()->*map).contains(token)) return false;
    r = take_registration(session, token);
  }
  return retire(*r);
}

/// notification_token's remover: finds the token's session through the app (the realm may be
/// gone, and with it the registration).
void remove_by_token(void* app_state, std::uint64_t token) {
  auto& owner = *static_cast<app::impl*>(app_state);
  std::optional<callback_registration> r;
  {
    std::lock_guard lock(owner.callbacks_mutex);
    auto i = owner.notification_owners.find(token);
    if (i == owner.notification_owners.end()) return;
    r = take_registration(*i->second, token);
  }
  if (r) retire(*r);
}

/// Adds a registration under a fresh token of the app's; `spawn` makes its forwarder.
template <class Map, class Spawn>
std::uint64_t add_registration(sync_session::impl& session, Map session_callbacks::*map,
                               Spawn spawn) {
  callback_registration r;
  r.gate = std::make_shared<callback_gate>();
  auto& owner = *session.owner;
  std::uint64_t token = 0;
  {
    std::lock_guard lock(owner.callbacks_mutex);
    token = owner.next_notification_token++;
  }
  r.forwarder = spawn(token, r.gate);
  std::lock_guard lock(owner.callbacks_mutex);
  (callbacks(session).*map).emplace(token, std::move(r));
  owner.notification_owners.emplace(token, &session);
  return token;
}

std::future<wait_outcome> ask_upload(sync_session::impl& session,
                                     std::optional<std::chrono::milliseconds> timeout,
                                     sync_session::wait_callback callback) {
  // The target is fixed here, in the caller's thread: commits made after this call returns are
  // not waited for, however late the session handles the request.
  const auto target = session.store->metadata().latest_client_version;
  return ask_wait(*session.owner, session.actor, true,
                  timeout.value_or(std::chrono::milliseconds{0}), target, std::move(callback),
                  session_gone);
}

std::future<wait_outcome> ask_download(
    sync_session::impl& session, std::optional<std::chrono::milliseconds> timeout,
    sync_session::wait_callback callback,
    protocol::version_type server_version = runtime::newest_at_handling) {
  return ask_wait(*session.owner, session.actor, false,
                  timeout.value_or(std::chrono::milliseconds{0}), server_version,
                  std::move(callback), session_gone);
}

std::future<wait_outcome> ask_upload_of(sync_session::impl& session, std::uint64_t version,
                                        std::optional<std::chrono::milliseconds> timeout,
                                        sync_session::wait_callback callback) {
  const auto latest = session.store->metadata().latest_client_version;
  if (version > latest)
    throw usage_error("wait_for_upload(" + std::to_string(version) + "): realm " +
                      session.store->path() + " has committed versions up to " +
                      std::to_string(latest) + " only");
  return ask_wait(*session.owner, session.actor, true,
                  timeout.value_or(std::chrono::milliseconds{0}), version, std::move(callback),
                  session_gone);
}

}  // namespace

sync_session::sync_session(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

sync_session::~sync_session() {
  std::unique_ptr<session_callbacks> registered;
  {
    std::lock_guard lock(impl_->owner->callbacks_mutex);
    registered = std::move(impl_->callbacks);
    if (registered) {
      for (const auto& entry : registered->progress)
        impl_->owner->notification_owners.erase(entry.first);
      for (const auto& entry : registered->connection)
        impl_->owner->notification_owners.erase(entry.first);
    }
  }
  if (!registered) return;
  for (auto& entry : registered->progress) retire(entry.second);
  for (auto& entry : registered->connection) retire(entry.second);
}

const std::string& sync_session::path() const {
  return impl_->store->path();
}

const std::string& sync_session::user_id() const {
  return impl_->settings->user_id;
}

// pause() and resume() record the pause in the realm's metadata here, in the caller's thread,
// so that closing and reopening the realm right after sees it whatever the session has handled
// by then; the session records it too (for pauses sent to its actor handle). They announce the
// new state ahead of the session so state() reflects the call at once; the session publishes
// what it actually did once it handled the last such call in flight (published_status.hpp; a
// stopped session shows inactive at once).
void sync_session::pause() {
  if (auto status = impl_->store->set_sync_paused(true); !status)
    impl_->owner->log->warn("realm {}: the pause is not recorded: {}", path(),
                            status.error().message);
  if (impl_->status->announce(runtime::session_state::active, runtime::session_state::paused))
    impl_->status->set_connection(runtime::connection_state::disconnected);  // as paused is
  send_in_order(impl_->owner->bridge, impl_->actor, runtime::pause_atom_v,
                runtime::recorded_atom_v);
}

void sync_session::resume() {
  if (auto status = impl_->store->set_sync_paused(false); !status)
    impl_->owner->log->warn("realm {}: the resume is not recorded: {}", path(),
                            status.error().message);
  impl_->status->announce(runtime::session_state::paused, runtime::session_state::active);
  send_in_order(impl_->owner->bridge, impl_->actor, runtime::resume_atom_v,
                runtime::recorded_atom_v);
}

runtime::session_state sync_session::state() const {
  return impl_->status->state();
}

runtime::connection_state sync_session::connection_state() const {
  return impl_->status->connection();
}

std::future<wait_outcome> sync_session::upload_all_local_changes(
    std::optional<std::chrono::milliseconds> timeout) {
  return ask_upload(*impl_, timeout, {});
}

void sync_session::upload_all_local_changes(std::optional<std::chrono::milliseconds> timeout,
                                            wait_callback callback) {
  (void)ask_upload(*impl_, timeout, std::move(callback));
}

std::future<wait_outcome> sync_session::download_all_server_changes(
    std::optional<std::chrono::milliseconds> timeout) {
  return ask_download(*impl_, timeout, {});
}

void sync_session::download_all_server_changes(std::optional<std::chrono::milliseconds> timeout,
                                               wait_callback callback) {
  (void)ask_download(*impl_, timeout, std::move(callback));
}

std::future<wait_outcome> sync_session::wait_for_upload(
    std::uint64_t version, std::optional<std::chrono::milliseconds> timeout) {
  return ask_upload_of(*impl_, version, timeout, {});
}

void sync_session::wait_for_upload(std::uint64_t version,
                                   std::optional<std::chrono::milliseconds> timeout,
                                   wait_callback callback) {
  (void)ask_upload_of(*impl_, version, timeout, std::move(callback));
}

std::future<wait_outcome> sync_session::wait_for_download(
    std::uint64_t server_version, std::optional<std::chrono::milliseconds> timeout) {
  if (server_version == 0) {  // every replica has integrated server version 0
    std::promise<wait_outcome> done;
    done.set_value(wait_outcome{});
    return done.get_future();
  }
  return ask_download(*impl_, timeout, {}, server_version);
}

void sync_session::wait_for_download(std::uint64_t server_version,
                                     std::optional<std::chrono::milliseconds> timeout,
                                     wait_callback callback) {
  if (server_version == 0) {
    if (callback) callback(wait_outcome{});
    return;
  }
  (void)ask_download(*impl_, timeout, std::move(callback), server_version);
}

std::uint64_t sync_session::downloaded_server_version() const {
  return impl_->store->metadata().download_server_version;
}

notification_token sync_session::add_progress_notification(runtime::progress_direction direction,
                                                           runtime::progress_mode mode,
                                                           progress_callback callback) {
  auto& owner = *impl_->owner;
  const auto registered =
      add_registration(*impl_, &session_callbacks::progress, [&](std::uint64_t token, auto gate) {
        auto forwarder = spawn_callback<runtime::transfer_progress>(
            owner.system, std::move(gate), [callback, token](const auto& report) {
              auto mine = report;
              mine.token = token;  // the caller knows the facade's token, not the session's
              callback(mine);
              return report.last;
            });
        send_in_order(
            owner.bridge, impl_->actor,
            runtime::subscribe_progress{direction, mode,
                                        caf::actor_cast<runtime::progress_subscriber>(forwarder)});
        return forwarder;
      });
  return notification_token(registered, impl_->owner, &remove_by_token);
}

bool sync_session::remove_progress_notification(runtime::progress_token token) {
  return remove_registration(*impl_, &session_callbacks::progress, token);
}

notification_token sync_session::add_connection_notification(connection_callback callback) {
  auto& owner = *impl_->owner;
  const auto registered =
      add_registration(*impl_, &session_callbacks::connection, [&](std::uint64_t, auto gate) {
        auto forwarder = spawn_callback<runtime::connection_state_changed>(
            owner.system, std::move(gate), [callback](const auto& change) {
              callback(change.old_state, change.new_state);
              return false;
            });
        send_in_order(owner.bridge, impl_->actor, runtime::subscribe_connection_atom_v,
                      caf::actor_cast<runtime::connection_observer>(forwarder));
        return forwarder;
      });
  return notification_token(registered, impl_->owner, &remove_by_token);
}

bool sync_session::remove_connection_notification(std::uint64_t token) {
  return remove_registration(*impl_, &session_callbacks::connection, token);
}

notification_token::notification_token(notification_token&& other) noexcept
    : value_(std::exchange(other.value_, 0)),
      app_state_(other.app_state_),
      remove_(other.remove_) {}

notification_token& notification_token::operator=(notification_token&& other) noexcept {
  if (this != &other) {
    reset();
    value_ = std::exchange(other.value_, 0);
    app_state_ = other.app_state_;
    remove_ = other.remove_;
  }
  return *this;
}

std::uint64_t notification_token::release() {
  return std::exchange(value_, 0);
}

void notification_token::reset() {
  if (const auto token = std::exchange(value_, 0); token != 0 && remove_)
    remove_(app_state_, token);
}

std::future<runtime::session_explanation> sync_session::explain() {
  runtime::session_explanation gone;
  gone.realm = path();
  gone.state = runtime::session_state::inactive;
  gone.blocker = runtime::sync_blocker::stopped;
  gone.summary = "the session is gone (the realm was closed or the app is stopping)";
  return ask_async(impl_->owner->system, impl_->actor, std::move(gone), runtime::explain_atom_v);
}

void sync_session::reconnect() {
  send_in_order(impl_->owner->bridge, impl_->actor, runtime::reconnect_atom_v);
}

}  // namespace actorsync::api
