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

#include <actorsync/actors/session_types.hpp>

namespace actorsync::api {

class app;

/// Removes its notification when destroyed, like realm-cpp's notification token or
/// Boost.Signals2's scoped_connection. Move-only; a default-constructed one holds nothing.
/// value() is the raw token (remove_*_notification takes it); release() keeps the notification
/// registered and hands the raw token over. A token must not outlive its app (as a realm must
/// not); it may outlive its realm (removal is then a no-op).
class [[nodiscard]] notification_token {
 public:
  notification_token() = default;
  ~notification_token() { reset(); }
  notification_token(notification_token&& other) noexcept;
  notification_token& operator=(notification_token&& other) noexcept;
  notification_token(const notification_token&) = delete;
  notification_token& operator=(const notification_token&) = delete;

  std::uint64_t value() const { return value_; }
  explicit operator bool() const { return value_ != 0; }
  /// Keeps the notification; the caller removes it by the returned raw token, if ever.
  std::uint64_t release();
  /// Removes the notification now (no-op when already removed or the realm is gone).
  void reset();

 private:
  friend class sync_session;
  friend class app;
  using remover = void (*)(void* app_state, std::uint64_t token);
  notification_token(std::uint64_t value, void* app_state, remover remove)
      : value_(value), app_state_(app_state), remove_(remove) {}
  std::uint64_t value_ = 0;
  void* app_state_ = nullptr;
  remover remove_ = nullptr;
};

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
  [[nodiscard]] runtime::session_state state() const;
  [[nodiscard]] runtime::connection_state connection_state() const;
  bool is_connected() const { return connection_state() == runtime::connection_state::connected; }

  /// True (outcome ok) once the server acknowledged every local change committed before the
  /// call (later commits are not waited for). `timeout` ends this wait after it (an extension
  /// of the seed's API); without one the app's request_timeout ends it only in a realm with
  /// cancel_waits_on_nonfatal_error (docs/sessions.md, "Waits").
  [[nodiscard]] std::future<runtime::wait_outcome> upload_all_local_changes(
      std::optional<std::chrono::milliseconds> timeout = {});
  /// The same wait, answered by calling `callback` (on a runtime thread) instead of a future.
  void upload_all_local_changes(std::optional<std::chrono::milliseconds> timeout,
                                wait_callback callback);
  /// True once everything the server held when it answered our MARK is integrated locally.
  /// `timeout` as for upload_all_local_changes.
  [[nodiscard]] std::future<runtime::wait_outcome> download_all_server_changes(
      std::optional<std::chrono::milliseconds> timeout = {});
  void download_all_server_changes(std::optional<std::chrono::milliseconds> timeout,
                                   wait_callback callback);

  /// Per-write durability: true (ok) once the server acknowledged the local write whose commit
  /// returned `version` (write_transaction::commit()), without waiting for later writes. A
  /// version not committed yet throws usage_error; 0 is done at once. `timeout` as above.
  [[nodiscard]] std::future<runtime::wait_outcome> wait_for_upload(
      std::uint64_t version, std::optional<std::chrono::milliseconds> timeout = {});
  void wait_for_upload(std::uint64_t version, std::optional<std::chrono::milliseconds> timeout,
                       wait_callback callback);
  /// True (ok) once everything up to `server_version` is integrated locally, with no MARK round
  /// trip. Reads-your-writes across clients: after the writer's wait_for_upload and
  /// download_all_server_changes, its downloaded_server_version() covers its write; a reader
  /// given that number waits for it here. `timeout` as above.
  [[nodiscard]] std::future<runtime::wait_outcome> wait_for_download(
      std::uint64_t server_version, std::optional<std::chrono::milliseconds> timeout = {});
  void wait_for_download(std::uint64_t server_version,
                         std::optional<std::chrono::milliseconds> timeout, wait_callback callback);
  /// The newest server version integrated locally (the realm's download cursor).
  [[nodiscard]] std::uint64_t downloaded_server_version() const;

  /// Registers `callback` for transfer progress; removed when the returned token goes (or by
  /// remove_progress_notification with its value()). Reports carry the token's value().
  notification_token add_progress_notification(runtime::progress_direction direction,
                                               runtime::progress_mode mode,
                                               progress_callback callback);
  /// True when the registration was live: its callback never runs again once this returned.
  /// False when the token is unknown (removed, another session's, or an outstanding-work one
  /// that finished).
  bool remove_progress_notification(runtime::progress_token token);

  /// Registers `callback` for connection-state changes; removed as for progress notifications.
  notification_token add_connection_notification(connection_callback callback);
  bool remove_connection_notification(std::uint64_t token);

  /// Connects now, skipping a pending backoff delay.
  void reconnect();

  /// "Why isn't this realm synced?": the session's answer from its own state (the first
  /// blocker and a sentence about it, the last error and the next retry, unacknowledged writes
  /// and the oldest one's age, download figures, pending waits) and its flight recorder's last
  /// events. runtime::to_string() renders it for a person. A session already gone answers
  /// blocker `stopped`.
  [[nodiscard]] std::future<runtime::session_explanation> explain();

  struct impl;
  impl& internals() { return *impl_; }

 private:
  friend class app;
  friend class realm;
  explicit sync_session(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace actorsync::api
