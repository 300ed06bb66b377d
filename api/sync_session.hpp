// A realm's sync session, for code that is not an actor. Every method is thread-safe and none
// waits for the session actor: requests are sent (in call order) and return; state() and
// connection_state() read what the session last published. So every method may be called from
// inside this facade's callbacks. Callbacks run on a runtime thread: keep them short, and do
// not wait on a future of this facade from inside one.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "actors/session_types.hpp"

namespace actorsync::api {

class app;

class sync_session {
 public:
  using wait_callback = std::function<void(runtime::wait_outcome)>;
  using progress_callback = std::function<void(const runtime::transfer_progress&)>;
  using connection_callback =
      std::function<void(runtime::connection_state old_state, runtime::connection_state new_state)>;

  ~sync_session();
  sync_session(const sync_session&) = delete;
  sync_session& operator=(const sync_session&) = delete;

  const std::string& path() const;
  /// The user the session syncs as (user_credentials::user_id at open).
  const std::string& user_id() const;

  /// Stops this session only (UNBIND); sticky until resume(), across reopening and restarts
  /// (recorded in the realm's metadata before it returns). Pending waits complete `paused`.
  void pause();
  /// Binds again and uploads from the last acknowledged version.
  void resume();
  /// As last published by the session; pause() and resume() show at once.
  runtime::session_state state() const;
  runtime::connection_state connection_state() const;
  bool is_connected() const { return connection_state() == runtime::connection_state::connected; }

  /// True (outcome ok) once the server acknowledged every local change committed before the
  /// call (later commits are not waited for). `timeout` ends this wait after it (an extension
  /// of the seed's API); without one the app's request_timeout ends it only in a realm with
  /// cancel_waits_on_nonfatal_error (docs/sessions.md, "Waits").
  std::future<runtime::wait_outcome> upload_all_local_changes(
      std::optional<std::chrono::milliseconds> timeout = {}, wait_callback callback = {});
  /// True once everything the server held when it answered our MARK is integrated locally.
  /// `timeout` as for upload_all_local_changes.
  std::future<runtime::wait_outcome> download_all_server_changes(
      std::optional<std::chrono::milliseconds> timeout = {}, wait_callback callback = {});

  runtime::progress_token add_progress_notification(runtime::progress_direction direction,
                                                    runtime::progress_mode mode,
                                                    progress_callback callback);
  /// True when the registration was live: its callback never runs again once this returned.
  /// False when the token is unknown (removed, or an outstanding-work one that finished).
  bool remove_progress_notification(runtime::progress_token token);

  std::uint64_t add_connection_notification(connection_callback callback);
  bool remove_connection_notification(std::uint64_t token);

  /// Connects now, skipping a pending backoff delay.
  void reconnect();

  struct impl;
  impl& internals() { return *impl_; }

 private:
  friend class app;
  friend class realm;
  explicit sync_session(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace actorsync::api
