// The session actor: one per open synced realm. Spawn it with spawn_session(); talk to it
// through the typed handle (session_messages.hpp). Internal header of actors/ (includes CAF).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include <actorsync/actors/reconnect_backoff.hpp>
#include <actorsync/actors/runtime_tuning.hpp>
#include <actorsync/actors/session_messages.hpp>
#include <actorsync/storage/realm_store.hpp>
#include "actors/published_status.hpp"
#include "actors/runtime_log.hpp"

namespace actorsync::runtime {

/// What every session of one app (and, with multiplexing, of one user) has in common. Built
/// once and shared, immutable, by those sessions: a copy per session cost ~200 B each.
struct session_settings {
  /// The connection manager (connection_manager.hpp) that carries the sessions' frames.
  connection_manager_actor connection_manager;
  /// Sessions with the same link key share one connection (multiplexing); a unique key gives
  /// the session a connection of its own.
  std::string link_key;
  /// Returns the user's current token; called at every BIND so a refreshed token is used.
  std::function<std::string()> token_provider;
  /// Receives every error of these sessions from their start (the app's error handler); may be
  /// null. A subscription sent after spawning could miss an error that came first.
  error_observer error_handler;
  /// The app's logger (runtime_log.hpp); null: the process-wide "actorsync" logger on stderr.
  logger_ptr log;
  /// Whose sessions these are (the facade's sync_session::user_id()).
  std::string user_id;
  /// The app's request timeout: ends waits given no timeout of their own, in realms that cancel
  /// waits on non-fatal errors (session_config).
  std::chrono::milliseconds default_wait_timeout = tuning::request_timeout;
  /// Session idents are unique per process, so they are unique per connection too.
  std::shared_ptr<std::atomic<std::uint64_t>> ident_source;
  /// The connection manager's servers in its order (link_event::server indexes them), to name
  /// the server in error events; may be null.
  std::shared_ptr<const std::vector<std::string>> server_urls;
  /// Largest UPLOAD the session builds at once; one upload frame is in the outbox at a time.
  std::size_t upload_batch_bytes = tuning::upload_batch_bytes;
  /// The store keeps acknowledgements in memory (written with the realm's next commit); the
  /// session writes them at the latest this long after they arrived, which bounds what a crash
  /// makes it upload again (the server de-duplicates it).
  std::chrono::milliseconds persist_acknowledgements_after = tuning::persist_acknowledgements_after;
  /// Delay before binding again after a retryable session-level ERROR.
  backoff_config rebind_backoff{};
  /// The app's aggregate figures, which each session keeps current (fleet_counters.hpp); may be
  /// null. A session contributes only with a published_status (session_config::status).
  std::shared_ptr<fleet_counters> fleet;
  /// Events each session's flight recorder keeps (flight_recorder.hpp); 0: none (explain()
  /// still reports state, figures and the last error).
  std::size_t flight_recorder_events = tuning::flight_recorder_events;
};

/// What is a session's own; the rest is shared through `settings` (never null).
/// A realm's client reset policy (docs/sessions.md, "Client reset").
struct client_reset_config {
  client_reset_mode mode = client_reset_mode::recover_unsynced;
  /// Called on the session's thread before the local state is replaced (the realm still reads
  /// as before: the place to copy what the app wants to keep) and after (it reads as the new
  /// state). In manual mode only `before` is called. May be empty; must not block for long.
  std::function<void(const client_reset_event&)> before;
  std::function<void(const client_reset_event&)> after;
  /// Also receives both events as messages; may be null.
  client_reset_observer observer;
};

/// A realm's high- and low-water marks for unacknowledged bytes and who is told when they are
/// crossed (backpressure_event).
struct backpressure_config {
  std::uint64_t high_water_bytes = 0;  ///< above it: told once (must be > low_water_bytes)
  std::uint64_t low_water_bytes = 0;   ///< at or below it again: told once
  /// Called on the session's thread; keep it short. May be empty.
  std::function<void(const backpressure_event&)> callback;
  backpressure_observer observer;  ///< may be null
};

struct session_config {
  std::string realm_path;
  std::shared_ptr<storage::realm_store> store;
  std::shared_ptr<const session_settings> settings;
  /// Where the session publishes its state and connection for other threads; may be null.
  std::shared_ptr<published_status> status;
  /// Starts paused (recorded in the realm's metadata like a pause). A realm whose metadata
  /// records a pause starts paused either way.
  bool start_paused = false;
  /// The seed's cancelWaitsOnNonFatalErrors, per realm. True: the app's request timeout and
  /// non-fatal errors (a lost connection, a retryable session error) complete pending waits.
  /// False: waits keep waiting through them, until done, a fatal error, pause or close.
  bool cancel_waits_on_nonfatal_error = false;
  client_reset_config client_reset;
  /// Null: no backpressure signal (one pointer per session; most realms have none).
  std::shared_ptr<const backpressure_config> backpressure;
};

/// Spawns a session. It sets the store's commit listener (the listener only sends a message).
/// Throws std::invalid_argument when the store, the settings or their ident source is missing,
/// or when backpressure marks are set with high_water_bytes not above low_water_bytes.
session_actor spawn_session(caf::actor_system& system, session_config config);

}  // namespace actorsync::runtime
