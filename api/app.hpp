// The runtime for code that is not an actor: an app owns the actor system, the I/O thread, the
// connection manager and the client database; realms are opened from it. Thread-safe.
// No CAF, Beast, RocksDB or msgpack types here (api/session_handle.hpp is the one doorway).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <actorsync/actors/reconnect_backoff.hpp>
#include <actorsync/actors/runtime_tuning.hpp>
#include <actorsync/actors/session_types.hpp>
#include <actorsync/api/sync_session.hpp>
#include <actorsync/storage/realm_store.hpp>

namespace actorsync::api {

class realm;
class app;

/// Who syncs: the user id keys multiplexed connections; the token authenticates.
struct user_credentials {
  std::string user_id;
  std::string token;
};

struct app_config {
  std::string server_url;  ///< ws://host:port[/path] or wss://...; may be empty with server_urls
  /// More servers of the same service (nodes sharing one history), after server_url when both
  /// are set. A connection starts at the first of the list and, after a failed or lost
  /// connection, retries (with the usual backoff) at the next one, round robin. Every entry
  /// must parse like server_url (invalid_server_url names the first that does not).
  std::vector<std::string> server_urls;
  std::string tls_trust_file;            ///< PEM CA bundle for wss; empty: system defaults
  bool verify_tls = true;                ///< certificate and host-name verification (on by default)
  std::filesystem::path data_directory;  ///< one RocksDB database for every realm of the app
  storage::durability durability = storage::durability::full;
  /// Local commits are refused with storage_full (nothing written) while the data directory's
  /// filesystem has less than this available, and the app does not start below it: RocksDB
  /// must never meet a full disk (docs/RELIABILITY.md). 0: no check.
  std::uint64_t min_free_disk_bytes = storage::default_min_free_bytes;

  /// Realm's request timeout: ends upload/download waits given no timeout of their own, in
  /// realms opened with realm_config::cancel_waits_on_nonfatal_error (docs/sessions.md).
  std::chrono::milliseconds request_timeout = runtime::tuning::request_timeout;
  std::chrono::milliseconds connect_timeout = runtime::tuning::connect_timeout;
  std::chrono::milliseconds ping_interval = runtime::tuning::ping_interval;
  std::chrono::milliseconds pong_timeout = runtime::tuning::pong_timeout;
  /// How long a connection stays after its last session left (0: closes at once).
  std::chrono::milliseconds linger = runtime::tuning::linger;
  /// After this many sessions opened, bound or closed, the runtime gives the heap's freed memory
  /// back to the OS once its connections have been quiet for half a second (a burst of binds leaves
  /// about 1 KB per session of it otherwise). 0: never (docs/sessions.md).
  std::size_t release_memory_after_sessions = runtime::tuning::release_memory_after_sessions;
  /// Reconnect delays: 1 s doubling to 8 s, full jitter, reset after 3 s of a healthy connection
  /// (docs/sessions.md; why: actors/runtime_tuning.hpp).
  runtime::backoff_config backoff{};
  /// One connection per user (to whichever server of the list it reached) when on (the
  /// default); one per session when off.
  bool session_multiplexing = true;
  /// With multiplexing: sessions of one user per connection; more open another connection to
  /// the same server (the server's limits.max_sessions_per_connection, 65,536 by default, is
  /// never hit). 0 is a usage_error.
  std::size_t max_sessions_per_connection = runtime::tuning::max_sessions_per_link;
  /// Events each session's flight recorder keeps for sync_session::explain() and for the log
  /// when a fatal error stops it (16 bytes each); 0 turns the recorder off. At most
  /// runtime::tuning::max_flight_recorder_events (else usage_error).
  std::size_t flight_recorder_events = runtime::tuning::flight_recorder_events;
  std::size_t scheduler_threads = runtime::tuning::scheduler_threads;
  /// Serve app::metrics_text() as GET /metrics over HTTP (off by default) on this address and
  /// port (0: any free port; app::metrics_port() tells which). A port that cannot be bound makes
  /// the app's constructor throw std::runtime_error naming it.
  bool metrics_endpoint = false;
  std::string metrics_address = "127.0.0.1";
  std::uint16_t metrics_port = 0;

  /// Called once per BIND for a fresh token (the connection's upgrade uses the token of the
  /// BIND that opened it); when empty, the token given at open is used.
  std::function<std::string(const std::string& user_id)> token_provider;
  /// The app's error handler: every session error (fatal or not), on a runtime thread.
  std::function<void(const runtime::session_error_event&)> error_handler;

  /// The runtime's log lines (a named "actorsync" logger, never spdlog's default one, so never
  /// the host program's stdout): to this handler when set (on any runtime thread, possibly
  /// concurrently: keep it short and thread-safe), else to stderr with ISO 8601 timestamps.
  std::function<void(runtime::log_level level, std::string_view message)> log_handler;
  /// Lines below this level are dropped; log_level::off silences the runtime.
  runtime::log_level log_level = runtime::log_level::info;
};

/// A realm's own sync settings (the seed's sync configuration).
struct realm_config {
  /// The seed's cancelWaitsOnNonFatalErrors. True: the app's request timeout and non-fatal
  /// errors (a lost connection, a retryable server error) complete this realm's pending waits
  /// with a typed outcome. False: they keep waiting until done, a fatal error, pause or close.
  bool cancel_waits_on_nonfatal_error = false;
  /// Opens the realm with its session paused, recorded like pause() (sticky until resume()).
  bool open_paused = false;
  /// This session's own token source, called once per BIND; empty: the app's token_provider,
  /// else the token given with the user.
  std::function<std::string()> token_provider;
  /// What the realm does when the server cannot continue its history (a restored or wiped
  /// server, an unknown file ident): docs/sessions.md, "Client reset". The default, as in
  /// current Realm SDKs, replays the writes the server never acknowledged onto its copy.
  runtime::client_reset_mode client_reset_mode = runtime::client_reset_mode::recover_unsynced;
  /// Called on a runtime thread before the reset replaces the local state (the realm still
  /// reads as before) and after (it reads as the new state); manual mode calls only the first.
  std::function<void(const runtime::client_reset_event&)> before_client_reset;
  std::function<void(const runtime::client_reset_event&)> after_client_reset;

  /// Backpressure signal: `on_backpressure` is called (on a runtime thread) once when this
  /// realm's unacknowledged bytes (committed, not yet acknowledged by the server) rise above
  /// the high-water mark, and once when they fall back to the low-water mark, so a producer can
  /// slow down before memory and disk grow. With a callback, high must be above low (else
  /// usage_error); without one the marks are ignored.
  std::uint64_t backpressure_high_water_bytes = 0;
  std::uint64_t backpressure_low_water_bytes = 0;
  std::function<void(const runtime::backpressure_event&)> on_backpressure;
};

/// Thrown for API misuse (e.g. changing multiplexing after a session opened, a bad URL).
class usage_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// The app's configuration names no server, or a server entry is not a ws:// or wss:// URL.
class invalid_server_url : public usage_error {
 public:
  /// `entry`: "server_url" or "server_urls[<index>]" (server_url when both are empty); `url`:
  /// the text given there.
  invalid_server_url(std::string entry, std::string url);
  const std::string& entry() const noexcept { return entry_; }
  const std::string& url() const noexcept { return url_; }

 private:
  std::string entry_;
  std::string url_;
};

/// Seed compatibility: app.sync().enable_session_multiplexing().
class sync_settings {
 public:
  /// Throws usage_error once a session has been opened.
  void enable_session_multiplexing();
  void disable_session_multiplexing();
  bool session_multiplexing() const;

 private:
  friend class app;
  explicit sync_settings(app& owner) : owner_(owner) {}
  app& owner_;
};

/// One server of the app's list (app_config::server_url, then server_urls) as the connection
/// manager sees it.
struct server_statistics {
  std::string url;                    ///< as configured
  std::uint64_t links_connected = 0;  ///< connections up to this server now
  std::uint64_t connects = 0;         ///< connection attempts to this server so far
};

struct runtime_statistics {
  std::uint64_t sessions_active = 0;
  std::uint64_t sessions_paused = 0;
  std::uint64_t sessions_inactive = 0;
  std::uint64_t sockets_open = 0;
  std::uint64_t bytes_pending = 0;  ///< queued in connection outboxes, not yet written
  std::uint64_t connects = 0;       ///< connection attempts so far
  /// Times the runtime gave free heap memory back to the OS after a burst of sessions opening
  /// or closing (docs/sessions.md).
  std::uint64_t memory_releases = 0;
  /// Per configured server, in list order: where the connections are.
  std::vector<server_statistics> servers;
};

class app {
 public:
  /// Opens the database and starts the runtime. Throws usage_error on a bad configuration and
  /// std::runtime_error when the database cannot be opened.
  explicit app(app_config config);
  /// Stops every session (now), closes connections, joins threads.
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  sync_settings& sync() { return settings_; }

  /// Opens (or returns the already open) synced realm at `path` and starts its session. A realm
  /// whose session was paused stays paused (pause is sticky until resume(), across restarts).
  /// While a realm is open, opening it again returns it and ignores `config`.
  std::shared_ptr<realm> open_realm(const std::string& path, const user_credentials& user,
                                    const realm_config& config = {});

  /// Counts live sessions by state (from what each published: no message to any session) and
  /// asks the connection manager for its counters.
  /// A closed session is forgotten once it has stopped (after its last acknowledgement, or at
  /// once when closed with stop_now); a session stopped by a fatal error counts as inactive
  /// until its realm is closed.
  runtime_statistics statistics();
  /// Only the connection manager's counters (sockets, bytes pending, connects, memory releases;
  /// the session counts stay 0): one request, cheap at any number of sessions.
  runtime_statistics connection_statistics();

  /// The runtime's metrics in Prometheus text format: sessions by state and connection, in
  /// error and uploading, bytes pending both ways, links, connects per server, link failures by
  /// reason, bytes sent and received, and histograms of commit-to-acknowledgement and of a
  /// remote commit to its visibility here (docs/sessions.md, "Client metrics"). Asks the
  /// connection manager (one request): do not call it from a callback of this facade.
  std::string metrics_text();
  /// The port of the metrics endpoint; 0 when app_config::metrics_endpoint is off.
  std::uint16_t metrics_port() const;

  /// The sessions at a glance, in O(1) at any number of them: each session pushes its share of
  /// these figures as it changes (fleet_counters); reading asks no session anything. A session
  /// leaves the figures when it terminates (a closed realm's once it stopped).
  runtime::fleet_status fleet() const;
  /// Calls `callback` (on a runtime thread) with a fleet_event every `config.interval` and
  /// whenever one of its alarms is raised or cleared; removed when the token goes (the callback
  /// never runs once removal returned). Throws usage_error for a configuration that would never
  /// report (no interval, no alarm) or a check_interval that is not positive.
  notification_token add_fleet_observer(const runtime::fleet_observer_config& config,
                                        std::function<void(const runtime::fleet_event&)> callback);

  struct impl;
  impl& internals() { return *impl_; }

 private:
  void start_metrics_endpoint();
  friend class sync_settings;
  friend struct app_factory;  ///< make_app (session_handle.hpp): an app in the caller's system
  explicit app(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
  sync_settings settings_{*this};
};

}  // namespace actorsync::api
