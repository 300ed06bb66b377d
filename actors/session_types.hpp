// Plain value types shared by the session actor's messages and the api/ facade. No CAF here:
// api/ headers include this file; actors/session_messages.hpp gives these types to CAF.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "actors/progress_registry.hpp"
#include "actors/sync_error.hpp"

namespace actorsync::runtime {

/// A session's link to the server, as observers see it. A paused session is disconnected.
enum class connection_state : std::uint8_t { disconnected, connecting, connected };

/// The session's own life cycle.
enum class session_state : std::uint8_t {
  active,    ///< syncing or trying to (whatever the connection state)
  paused,    ///< pause() was called; only resume() revives it
  inactive,  ///< closed, or stopped by a fatal error
};

std::string_view to_string(connection_state state);

/// What a session publishes for readers on other threads (the api facade reads it without a
/// round trip to the session). Written only by the session actor, and by the facade's pause()
/// and resume() ahead of the session (see sync_session.cpp).
struct published_status {
  std::atomic<session_state> state{session_state::active};
  std::atomic<connection_state> connection{connection_state::disconnected};
};
std::string_view to_string(session_state state);

/// How a wait ended. `ok` is the only outcome that means "done".
enum class wait_status : std::uint8_t {
  ok,         ///< everything targeted was acknowledged (upload) or integrated (download)
  timed_out,  ///< the wait's timeout passed first; the transfer goes on
  paused,     ///< the session was paused while the wait was pending
  error,      ///< a fatal error, or a non-fatal one with cancel_waits_on_nonfatal_error
};

struct wait_outcome {
  wait_status status = wait_status::ok;
  sync_errc error = sync_errc::connection_lost;  ///< meaningful only when status == error
  explicit operator bool() const { return status == wait_status::ok; }
  friend bool operator==(const wait_outcome&, const wait_outcome&) = default;
};

/// What a progress subscriber receives.
struct transfer_progress {
  std::string realm;
  progress_direction direction = progress_direction::upload;
  std::uint64_t transferred = 0;
  std::uint64_t transferable = 0;
  double estimate = 1.0;  ///< 0..1
  bool complete = false;
  progress_token token = 0;  ///< the registration this report belongs to
  bool last = false;         ///< the registration removed itself after this report
  friend bool operator==(const transfer_progress&, const transfer_progress&) = default;
};

/// What a connection-state subscriber receives; old != new always.
struct connection_state_changed {
  std::string realm;
  connection_state old_state = connection_state::disconnected;
  connection_state new_state = connection_state::disconnected;
  friend bool operator==(const connection_state_changed&,
                         const connection_state_changed&) = default;
};

/// What a session-error subscriber receives.
struct session_error_event {
  std::string realm;
  sync_errc code = sync_errc::connection_lost;
  bool fatal = false;
  std::string message;
  friend bool operator==(const session_error_event&, const session_error_event&) = default;
};

/// A snapshot answered to get_state.
struct session_snapshot {
  std::string realm;
  session_state state = session_state::active;
  connection_state connection = connection_state::disconnected;
  std::uint64_t latest_client_version = 0;
  std::uint64_t acknowledged_client_version = 0;
  std::uint64_t download_server_version = 0;
  std::uint64_t pending_upload_bytes = 0;
  friend bool operator==(const session_snapshot&, const session_snapshot&) = default;
};

}  // namespace actorsync::runtime
