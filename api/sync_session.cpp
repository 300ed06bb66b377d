#include "api/sync_session.hpp"

#include "api/runtime_bridge.hpp"

namespace actorsync::api {

using runtime::wait_outcome;
using runtime::wait_status;

namespace {

const wait_outcome session_gone{wait_status::error, runtime::sync_errc::session_stopped};

/// A small actor that turns typed notifications into callback calls; it quits after an
/// outstanding-work registration's last report.
template <class Message, class F>
caf::actor spawn_callback(caf::actor_system& system, F f) {
  return system.spawn([f](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {[self, f](const Message& m) {
      if (f(m)) self->quit();
    }};
  });
}

}  // namespace

sync_session::sync_session(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

sync_session::~sync_session() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [token, actor] : impl_->progress_callbacks)
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  for (auto& [token, entry] : impl_->connection_callbacks)
    caf::anon_send_exit(entry.second, caf::exit_reason::user_shutdown);
}

const std::string& sync_session::path() const {
  return impl_->path;
}

void sync_session::pause() {
  {
    std::lock_guard lock(impl_->owner->mutex);
    impl_->owner->paused_paths.insert(impl_->path);
  }
  ask_now<runtime::session_state>(impl_->owner->bridge, impl_->actor,
                                  runtime::session_state::inactive, runtime::pause_atom_v);
}

void sync_session::resume() {
  {
    std::lock_guard lock(impl_->owner->mutex);
    impl_->owner->paused_paths.erase(impl_->path);
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
  return ask<wait_outcome>(impl_->owner->bridge, impl_->actor,
                           runtime::wait_for_upload{timeout.value_or(std::chrono::milliseconds{0})},
                           std::move(callback), session_gone);
}

std::future<wait_outcome> sync_session::download_all_server_changes(
    std::optional<std::chrono::milliseconds> timeout, wait_callback callback) {
  return ask<wait_outcome>(
      impl_->owner->bridge, impl_->actor,
      runtime::wait_for_download{timeout.value_or(std::chrono::milliseconds{0})},
      std::move(callback), session_gone);
}

runtime::progress_token sync_session::add_progress_notification(
    runtime::progress_direction direction, runtime::progress_mode mode,
    progress_callback callback) {
  auto& system = impl_->owner->system;
  auto forwarder =
      spawn_callback<runtime::transfer_progress>(system, [callback](const auto& report) {
        callback(report);
        return report.last;
      });
  auto token = ask_now<runtime::progress_token>(
      impl_->owner->bridge, impl_->actor, runtime::progress_token{0},
      runtime::subscribe_progress{direction, mode, forwarder});
  if (token == 0) {
    caf::anon_send_exit(forwarder, caf::exit_reason::user_shutdown);
    return 0;
  }
  std::lock_guard lock(impl_->mutex);
  impl_->progress_callbacks.emplace(token, forwarder);
  return token;
}

bool sync_session::remove_progress_notification(runtime::progress_token token) {
  caf::actor forwarder;
  {
    std::lock_guard lock(impl_->mutex);
    auto i = impl_->progress_callbacks.find(token);
    if (i == impl_->progress_callbacks.end()) return false;
    forwarder = i->second;
    impl_->progress_callbacks.erase(i);
  }
  bool removed = ask_now<bool>(impl_->owner->bridge, impl_->actor, false,
                               runtime::unsubscribe_progress_atom_v, token);
  caf::anon_send_exit(forwarder, caf::exit_reason::user_shutdown);
  return removed;
}

std::uint64_t sync_session::add_connection_notification(connection_callback callback) {
  auto& system = impl_->owner->system;
  auto forwarder =
      spawn_callback<runtime::connection_state_changed>(system, [callback](const auto& change) {
        callback(change.old_state, change.new_state);
        return false;
      });
  auto session_token = ask_now<runtime::subscription_token>(
      impl_->owner->bridge, impl_->actor, runtime::subscription_token{0},
      runtime::subscribe_connection_atom_v, forwarder);
  std::lock_guard lock(impl_->mutex);
  auto token = impl_->next_connection_token++;
  impl_->connection_callbacks.emplace(token, std::make_pair(session_token, forwarder));
  return token;
}

bool sync_session::remove_connection_notification(std::uint64_t token) {
  std::pair<std::uint64_t, caf::actor> entry;
  {
    std::lock_guard lock(impl_->mutex);
    auto i = impl_->connection_callbacks.find(token);
    if (i == impl_->connection_callbacks.end()) return false;
    entry = i->second;
    impl_->connection_callbacks.erase(i);
  }
  ask_now<bool>(impl_->owner->bridge, impl_->actor, false, runtime::unsubscribe_connection_atom_v,
                entry.first);
  caf::anon_send_exit(entry.second, caf::exit_reason::user_shutdown);
  return true;
}

void sync_session::reconnect() {
  ask_now<bool>(impl_->owner->bridge, impl_->actor, false, runtime::reconnect_atom_v);
}

}  // namespace actorsync::api
