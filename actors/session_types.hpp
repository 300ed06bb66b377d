// The public vocabulary of the client runtime: states, wait outcomes, transfer progress, error
// codes. Plain value types with no CAF, storage or actor includes (only the standard library):
// api/ headers include this file; actors/session_messages.hpp gives these types to CAF.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace actorsync::runtime {

/// What a session, a wait or an observer can be told. Every value is classified fatal (retrying
/// cannot help; waits always complete with it) or retryable (the runtime reconnects; waits
/// survive unless cancel_waits_on_nonfatal_error is set). Works as a std::error_code
/// (`std::error_code ec = sync_errc::pong_timeout;`, category "actorsync.sync").
enum class sync_errc : std::uint8_t {
  // ---- retryable ----
  connection_lost = 1,  ///< the socket closed or failed while connected; reconnects with backoff
  connect_timeout,      ///< resolve + TCP + TLS + WebSocket upgrade took longer than allowed
  connect_failed,       ///< the server refused or could not be reached; reconnects with backoff
  pong_timeout,         ///< nothing arrived for the keepalive period; the link is dropped
  server_going_away,    ///< the server closes the connection on shutdown
  server_busy,          ///< the server or realm refuses work now (limits, overload)
  token_expired,        ///< the token expired; a fresh one is fetched from the provider
  session_closed,       ///< the server ended the session normally or for an unclassified reason
  // ---- fatal ----
  protocol_violation,      ///< a peer sent something the protocol forbids (bad frame, bad order)
  wrong_protocol_version,  ///< the server does not speak actorsync.v1
  bad_authentication,      ///< the token is missing, malformed or wrongly signed
  permission_denied,       ///< the token does not cover this realm
  illegal_realm_path,      ///< the realm path breaks the path rules
  client_reset_required,   ///< the server does not know this client's history (ident, versions)
  bad_changeset,           ///< a changeset failed validation on one side
  tls_failure,             ///< certificate verification or the TLS handshake failed
  storage_failure,         ///< a store failed: the local one (I/O error, corruption, full disk)
                           ///< or the server's copy of the realm (storage_corruption)
  session_stopped,         ///< the realm was closed with "stop now" or the runtime shut down
  // ---- retryable (added later, hence here) ----
  /// The realm was reset to the server's copy (client reset): waits pending then complete with
  /// it, since what they waited for belongs to the replaced history. The session goes on.
  client_reset,
};

/// True when retrying cannot help: waits always complete with such an error.
bool is_fatal(sync_errc code);

/// A stable lower-case name for logs and messages, e.g. "pong_timeout".
std::string_view to_string(sync_errc code);

/// The std::error_category of sync_errc: name "actorsync.sync", message() the to_string name.
const std::error_category& sync_category() noexcept;
std::error_code make_error_code(sync_errc code) noexcept;

enum class progress_direction : std::uint8_t { upload, download };
enum class progress_mode : std::uint8_t { report_indefinitely, for_currently_outstanding_work };
std::string_view to_string(progress_direction direction);
std::string_view to_string(progress_mode mode);

/// Severity of the runtime's log lines (app_config::log_level); `off` silences the runtime.
enum class log_level : std::uint8_t { trace, debug, info, warn, error, off };
std::string_view to_string(log_level level);

/// Registrations are keyed by token, never by callback identity. 0 is never issued.
using progress_token = std::uint64_t;

/// A session's link to the server, as observers see it. A paused session is disconnected.
enum class connection_state : std::uint8_t { disconnected, connecting, connected };

/// The session's own life cycle.
enum class session_state : std::uint8_t {
  active,    ///< syncing or trying to (whatever the connection state)
  paused,    ///< pause() was called; only resume() revives it
  inactive,  ///< closed, or stopped by a fatal error
};

std::string_view to_string(connection_state state);

std::string_view to_string(session_state state);

/// How a wait ended. `ok` is the only outcome that means "done".
enum class wait_status : std::uint8_t {
  ok,         ///< everything targeted was acknowledged (upload) or integrated (download)
  timed_out,  ///< the wait's timeout passed first; the transfer goes on
  paused,     ///< the session was paused while the wait was pending
  error,      ///< a fatal error, or a non-fatal one with cancel_waits_on_nonfatal_error
};
std::string_view to_string(wait_status status);

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
  /// The server of the session's link when the error happened, as configured (one of the app's
  /// URLs); empty before the session's first connection attempt.
  std::string server_url;
  /// For a retryable error: how long until the session tries again (its link's reconnect, or
  /// its own bind again after a session-level error), from when the error was reported; 0 for a
  /// fatal error.
  std::chrono::milliseconds retry_in{0};
  friend bool operator==(const session_error_event&, const session_error_event&) = default;
};

/// Told when a session's unacknowledged bytes (committed locally, not yet acknowledged by the
/// server) rise above the realm's high-water mark, and again when they fall to its low-water
/// mark, so a producer can slow down before memory and disk grow (realm_config).
struct backpressure_event {
  std::string realm;
  bool above_high_water = false;  ///< true: crossed the high mark; false: back at the low one
  std::uint64_t unacknowledged_bytes = 0;
  friend bool operator==(const backpressure_event&, const backpressure_event&) = default;
};

/// What a realm does when the server cannot continue its history (docs/sessions.md, "Client
/// reset"). The session always stops the uploads of the old history first.
enum class client_reset_mode : std::uint8_t {
  manual,              ///< stop with client_reset_required; the local state stays as it is
  discard_unsynced,    ///< replace the local state with the server's copy; drop unsynced writes
  recover_unsynced,    ///< replace it, then replay the unsynced writes on top and upload them
  recover_or_discard,  ///< recover; discard when the unsynced writes cannot be replayed
};
std::string_view to_string(client_reset_mode mode);

/// Why the server refused the realm's history (the ERROR code it sent).
enum class client_reset_reason : std::uint8_t {
  client_file_ident_unknown,  ///< the server's realm never allocated this replica's file ident
  client_ahead_of_server,     ///< the replica saw versions the server no longer has (a restore)
  history_mismatch,           ///< the server rejected the replica's cursors otherwise
  resumed,                    ///< a reset begun before a restart, carried on
};
std::string_view to_string(client_reset_reason reason);

/// Told before a reset replaces the local state (the realm still reads as before) and after
/// (it reads as the server's copy, with recovered writes on top).
struct client_reset_event {
  std::string realm;
  bool after = false;  ///< false: before the reset
  client_reset_mode mode = client_reset_mode::recover_unsynced;
  client_reset_reason reason = client_reset_reason::history_mismatch;
  std::string message;  ///< the server's words (or why the reset failed)
  /// Before: local changesets the server never acknowledged. After: as the mode treated them.
  std::uint64_t unsynced_changesets = 0;
  std::uint64_t recovered = 0;  ///< after: replayed onto the server's copy, being uploaded
  std::uint64_t discarded = 0;  ///< after: dropped
  /// After: recover_or_discard could not replay them and discarded them instead; with
  /// recover_unsynced the session stopped with client_reset_required instead of an after event.
  bool recovery_failed = false;
  friend bool operator==(const client_reset_event&, const client_reset_event&) = default;
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

/// Why a session is not synced, as explain() sees it: the first obstacle, in this order.
enum class sync_blocker : std::uint8_t {
  none,               ///< bound, every local write acknowledged, no download known to be due
  stopped,            ///< a fatal error stopped the session (the explanation's last error)
  paused,             ///< pause() was called; only resume() revives it
  client_reset,       ///< a client reset is under way
  token_expired,      ///< the server refused the token as expired; a fresh one is on its way
  not_connected,      ///< no link now; next_retry_in says when the next attempt is
  connecting,         ///< a link is being opened (TCP, TLS, WebSocket upgrade)
  waiting_for_ident,  ///< BIND and IDENT sent; the server's IDENT is outstanding
  uploading,          ///< local writes the server has not acknowledged yet
  downloading,        ///< the server holds more for this realm, or a download wait's MARK is out
};
std::string_view to_string(sync_blocker blocker);

/// One entry of a session's flight recorder, as explain() shows it.
struct session_event_record {
  std::chrono::milliseconds age{0};  ///< how long before the explanation it happened
  std::string what;                  ///< e.g. "connection: connected", "UPLOAD sent: v1..v4"
  friend bool operator==(const session_event_record&, const session_event_record&) = default;
};

/// "Why isn't this realm synced?": what the session knows, answered to explain_atom and
/// sync_session::explain(). to_string() renders it for a person.
struct session_explanation {
  std::string realm;
  sync_blocker blocker = sync_blocker::none;
  std::string summary;  ///< one sentence naming the blocker and what happens next
  session_state state = session_state::active;
  connection_state connection = connection_state::disconnected;
  // ---- the latest error (fatal or not), if any since the session started ----
  bool has_error = false;
  sync_errc last_error = sync_errc::connection_lost;
  bool last_error_fatal = false;
  std::string last_error_message;
  std::chrono::milliseconds last_error_age{0};
  /// When the session (or its link) tries again after a retryable error; 0: no retry pending.
  std::chrono::milliseconds next_retry_in{0};
  // ---- upload ----
  std::uint64_t unacknowledged_changesets = 0;
  std::uint64_t unacknowledged_bytes = 0;
  /// Age of the oldest local write the server has not acknowledged (its commit timestamp).
  std::chrono::milliseconds oldest_unacknowledged_age{0};
  // ---- download ----
  std::uint64_t download_remaining_bytes = 0;  ///< the server's figure from its last DOWNLOAD
  std::uint64_t pending_upload_waits = 0;
  std::uint64_t pending_download_waits = 0;
  /// The flight recorder's events, oldest first (app_config::flight_recorder_events of them).
  std::vector<session_event_record> recent_events;
  friend bool operator==(const session_explanation&, const session_explanation&) = default;
};

/// The sessions of an app at a glance (app::fleet(), fleet observers): pushed by the sessions
/// as they change, read without asking any of them.
struct fleet_status {
  std::uint64_t sessions = 0;  ///< running sessions (a stopped one until its realm is closed)
  std::uint64_t active = 0;
  std::uint64_t paused = 0;
  std::uint64_t inactive = 0;  ///< stopped by a fatal error, realm still open
  std::uint64_t disconnected = 0;
  std::uint64_t connecting = 0;
  std::uint64_t connected = 0;
  /// Sessions whose latest event is an error they have not recovered from (a retryable one
  /// until they are bound again; a fatal one for good).
  std::uint64_t in_error = 0;
  std::uint64_t uploading = 0;                 ///< sessions with local writes not yet acknowledged
  std::uint64_t waiting_for_upload = 0;        ///< sessions with an upload wait pending
  std::uint64_t waiting_for_download = 0;      ///< sessions with a download wait pending
  std::uint64_t unacknowledged_bytes = 0;      ///< over all sessions
  std::uint64_t download_remaining_bytes = 0;  ///< the servers' last figures, over all sessions
  /// Since the oldest unacknowledged write of any session was noticed by its session; 0: none.
  std::chrono::milliseconds oldest_unacknowledged_age{0};
  friend bool operator==(const fleet_status&, const fleet_status&) = default;
};

/// What a fleet observer watches for besides its periodic snapshots.
enum class fleet_alarm : std::uint8_t {
  none,                  ///< a periodic snapshot
  sessions_in_error,     ///< fleet_status::in_error above the configured count
  oldest_unacknowledged  ///< fleet_status::oldest_unacknowledged_age above the configured age
};
std::string_view to_string(fleet_alarm alarm);

/// A fleet observer's settings (app::add_fleet_observer, spawn_fleet_monitor).
struct fleet_observer_config {
  std::chrono::milliseconds interval{0};  ///< a snapshot this often; 0: only alarms
  /// Alarm when more than this many sessions are in error (0: any); unset: no such alarm.
  std::optional<std::uint64_t> sessions_in_error_above;
  /// Alarm when the oldest unacknowledged write is older than this; 0: no such alarm.
  std::chrono::milliseconds oldest_unacknowledged_above{0};
  /// How often the figures are read for the alarms (each read is O(1)).
  std::chrono::milliseconds check_interval{1000};
};

/// What a fleet observer receives: a periodic snapshot, or an alarm raised or cleared.
struct fleet_event {
  fleet_status status;
  fleet_alarm alarm = fleet_alarm::none;
  bool raised = false;  ///< for an alarm: true when raised, false when cleared
  friend bool operator==(const fleet_event&, const fleet_event&) = default;
};

/// A multi-line report: the summary, the figures, the recent events.
std::string to_string(const session_explanation& explanation);

}  // namespace actorsync::runtime

template <>
struct std::is_error_code_enum<actorsync::runtime::sync_errc> : std::true_type {};
