#include "api/sync_session.hpp"

#include "api/runtime_bridge.hpp"

namespace actorsync::api {

using runtime::wait_outcome;
using runtime::wait_status;

namespace {

const wait_outcome session_gone{wait_status::error, runtime::sync_errc::session_stopped};

/// A small actor that turns typed notifications into callback calls behind `gate`; it quits
/// after an outstanding-work registration's last report (when `f` returns true).
template <class Message, class F>
caf::actor spawn_callback(caf::actor_system& system, std::shared_ptr<callback_gate> gate, F f) {
  auto behavior = [f](caf::event_based_actor* self,
                      std::shared_ptr<callback_gate> g) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {[self, g, f](const Message& m) {
      std::lock_guard lock(g->mutex);
      if (!g->open || f(m)) self->quit();
    }};
  };
  return system.spawn(behavior, std::move(gate));
}

/// The session's registrations, created at the first. Call with owner->callbacks_mutex held.
session_callbacks& callbacks(sync_session::impl& session) {
  if (!session.callbacks) session.callbacks = std::make_unique<session_callbacks>();
  return *session.callbacks;
}

void retire(callback_registration& r) {
  r.gate->close();
  caf::anon_send_exit(r.forwarder, caf::exit_reason::user_shutdown);
}

}  // namespace

sync_session::sync_session(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

sync_session::~sync_session() {
  std::unique_ptr<session_callbacks> registered;
  {
    std::lock_guard lock(impl_->owner->callbacks_mutex);
    registered = std::move(impl_->callbacks);
  }
  // Retired outside the app-wide lock: closing a gate waits for a running callback, which may
  // itself be registering a callback on another session.
  if (!registered) return;
  for (auto& entry : registered->progress) retire(entry.second);
  for (auto& entry : registered->connection) retire(entry.second);
}

const std::string& sync_session::path() const {
  return impl_->store->path();
}

void sync_session::pause() {
  {
    std::lock_guard lock(impl_->owner->mutex);
    impl_->owner->paused_paths.insert(path());
  }
  ask_now<runtime::session_state>(impl_->owner->bridge, impl_->actor,
                                  runtime::session_state::inactive, runtime::pause_atom_v);
}

void sync_session::resume() {
  {
    std::lock_guard lock(impl_->owner->mutex);
    impl_->owner->paused_paths.erase(path());
  }
  ask_now<runtime::session_state>(impl_->owner->bridge, impl_->actor,
                                  runtime::session_state::inactive, runtime::resume_atom_v);
}

runtime::session_state sync_session::state() {
  runtime::session_snapshot none;
  none.state = runtime::session_state::inactive;
  return ask_now<runtime::session_snapshot>(impl_->owner->bridge, impl_->actor, none,
                                            runtime::get_state_atom_v)
      .state;
}

runtime::connection_state sync_session::connection_state() {
  runtime::session_snapshot none;
  return ask_now<runtime::session_snapshot>(impl_->owner->bridge, impl_->actor, none,
                                            runtime::get_state_atom_v)
      .connection;
}

std::future<wait_outcome> sync_session::upload_all_local_changes(
    std::optional<std::chrono::milliseconds> timeout, wait_callback callback) {
  return ask_wait(*impl_->owner, impl_->actor, true, timeout.value_or(std::chrono::milliseconds{0}),
                  std::move(callback), session_gone);
}

std::future<wait_outcome> sync_session::download_all_server_changes(
    std::optional<std::chrono::milliseconds> timeout, wait_callback callback) {
  return ask_wait(*impl_->owner, impl_->actor, false,
                  timeout.value_or(std::chrono::milliseconds{0}), std::move(callback),
                  session_gone);
}

runtime::progress_token sync_session::add_progress_notification(
    runtime::progress_direction direction, runtime::progress_mode mode,
    progress_callback callback) {
  callback_registration r;
  r.gate = std::make_shared<callback_gate>();
  r.forwarder = spawn_callback<runtime::transfer_progress>(impl_->owner->system, r.gate,
                                                           [callback](const auto& report) {
                                                             callback(report);
                                                             return report.last;
                                                           });
  auto token = ask_now<runtime::progress_token>(
      impl_->owner->bridge, impl_->actor, runtime::progress_token{0},
      runtime::subscribe_progress{direction, mode, r.forwarder});
  if (token == 0) {
    retire(r);
    return 0;
  }
  r.session_token = token;
  std::lock_guard lock(impl_->owner->callbacks_mutex);
  callbacks(*impl_).progress.emplace(token, std::move(r));
  return token;
}

bool sync_session::remove_progress_notification(runtime::progress_token token) {
  callback_registration r;
  {
    std::lock_guard lock(impl_->owner->callbacks_mutex);
    if (!impl_->callbacks) return false;
    auto& progress = impl_->callbacks->progress;
    auto i = progress.find(token);
    if (i == progress.end()) return false;
    r = std::move(i->second);
    progress.erase(i);
  }
  retire(r);
  return ask_now<bool>(impl_->owner->bridge, impl_->actor, false,
                       runtime::unsubscribe_progress_atom_v, token);
}

std::uint64_t sync_session::add_connection_notification(connection_callback callback) {
  callback_registration r;
  r.gate = std::make_shared<callback_gate>();
  r.forwarder = spawn_callback<runtime::connection_state_changed>(
      impl_->owner->system, r.gate, [callback](const auto& change) {
        callback(change.old_state, change.new_state);
        return false;
      });
  r.session_token = ask_now<runtime::subscription_token>(
      impl_->owner->bridge, impl_->actor, runtime::subscription_token{0},
      runtime::subscribe_connection_atom_v, r.forwarder);
  std::lock_guard lock(impl_->owner->callbacks_mutex);
  auto& registered = callbacks(*impl_);
  auto token = registered.next_connection_token++;
  registered.connection.emplace(token, std::move(r));
  return token;
}

bool sync_session::remove_connection_notification(std::uint64_t token) {
  callback_registration r;
  {
    std::lock_guard lock(impl_->owner->callbacks_mutex);
    if (!impl_->callbacks) return false;
    auto& connection = impl_->callbacks->connection;
    auto i = connection.find(token);
    if (i == connection.end()) return false;
    r = std::move(i->second);
    connection.erase(i);
  }
  retire(r);
  ask_now<bool>(impl_->owner->bridge, impl_->actor, false, runtime::unsubscribe_connection_atom_v,
                r.session_token);
  return true;
}

void sync_session::reconnect() {
  ask_now<bool>(impl_->owner->bridge, impl_->actor, false, runtime::reconnect_atom_v);
}

}  // namespace actorsync::api
