// A realm's sync session, for code that is not an actor. Every method is thread-safe. Methods
// returning futures never block; pause/resume/state/connection_state wait for the session's
// reply. Callbacks run on a runtime thread: keep them short and never block on this session
// from inside one.
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

  /// Stops this session only (UNBIND); sticky until resume(). Pending waits complete `paused`.
  void pause();
  /// Binds again and uploads from the last acknowledged version.
  void resume();
  runtime::session_state state();
  runtime::connection_state connection_state();

  /// True (outcome ok) once the server acknowledged every local change existing at the call.
  /// No timeout given: the app's request_timeout.
  std::future<runtime::wait_outcome> upload_all_local_changes(
      std::optional<std::chrono::milliseconds> timeout = {}, wait_callback callback = {});
  /// True once everything the server held when it answered our MARK is integrated locally.
  std::future<runtime::wait_outcome> download_all_server_changes(
      std::optional<std::chrono::milliseconds> timeout = {}, wait_callback callback = {});

  runtime::progress_token add_progress_notification(runtime::progress_direction direction,
                                                    runtime::progress_mode mode,
                                                    progress_callback callback);
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
