// State of one session actor, apart from its behaviour (session_actor.cpp). The methods are
// split by topic: session_protocol.cpp (BIND/IDENT/UPLOAD/MARK/DOWNLOAD), session_observers.cpp
// (waits, progress, connection state, errors). All of it runs on the session actor only.
//
// State diagram (the phase; `paused` and `closing` are flags beside it):
//
//              attach to link                link_event(connected)
//   [detached] ─────────────► [awaiting_link] ─────────────────────► [binding]
//       ▲                         ▲     ▲                               │ BIND + IDENT sent;
//       │ pause / close           │     │ link_event(disconnected)      │ server IDENT if none
//       │ (UNBIND, detach)        │     └───────────────────────────────┤
//       │                         │ retryable session ERROR             ▼
//       └─────────────────────────┴──(rebind after backoff)──────── [bound]
//                                                                   UPLOAD from the last
//   fatal ERROR (any phase) ──► [stopped]: waits fail, observers told,  acknowledged version,
//                               session inactive until closed           MARKs, DOWNLOADs
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/typed_response_promise.hpp>

#include <actorsync/actors/reconnect_backoff.hpp>
#include "actors/flat_map.hpp"
#include "actors/flight_recorder.hpp"
#include "actors/progress_registry.hpp"
#include "actors/session_actor.hpp"
#include "actors/wait_registry.hpp"

namespace actorsync::runtime {

/// Where a wait's outcome goes: a CAF response (app actors' requests) or a wait_done message
/// (the api bridge's ticketed waits).
struct wait_responder {
  caf::typed_response_promise<wait_outcome> promise;
  caf::actor reply_to;  ///< set: answer with wait_done{ticket}
  std::uint64_t ticket = 0;
  std::chrono::steady_clock::time_point deadline;
  void deliver(const wait_outcome& outcome);
};

/// The type of the session's wait timer (caf_0_17::set_timer).
inline constexpr caf::atom_value wait_timer_type = caf::atom("waittimer");

/// A session's pending waits and their deadlines (see session_actor_state::waits).
struct pending_waits {
  wait_registry registry;
  flat_map<wait_id, wait_responder> responders;
  /// Waits by deadline, and one timer for the earliest: a timer per wait cost a wake-up of
  /// CAF's clock thread (and contention on its lock) per wait.
  std::set<std::pair<std::chrono::steady_clock::time_point, wait_id>> deadlines;
  std::chrono::steady_clock::time_point timer_at = std::chrono::steady_clock::time_point::max();
  bool empty() const { return registry.empty() && responders.empty(); }
};

enum class subscription_kind : std::uint8_t { progress, connection, errors };

struct subscriber_entry {
  caf::actor who;
  subscription_kind kind;
};

enum class session_phase : std::uint8_t { detached, awaiting_link, binding, bound, stopped };

/// A client reset under way (session_client_reset.cpp): the session syncs the staging realm,
/// which receives the server's copy, until the MARK sent after its IDENT is answered.
struct client_reset_progress {
  std::shared_ptr<storage::realm_store> staging;
  client_reset_reason reason = client_reset_reason::history_mismatch;
  std::string message;
  protocol::request_ident mark = 0;  ///< 0 until the staging realm has its file ident
};

/// The latest error a session met, for explain().
struct recorded_error {
  sync_errc code = sync_errc::connection_lost;
  std::string message;
  std::chrono::steady_clock::time_point at;
};

/// When the session noticed its local writes, for the fleet's oldest unacknowledged write:
/// (newest client version noticed, when), oldest first. Allocated only while writes are
/// unacknowledged; at most fleet_noticed_entries, later ones merged into the last (which makes
/// the figure err on the old side).
struct noticed_writes {
  std::vector<std::pair<protocol::version_type, std::chrono::steady_clock::time_point>> entries;
};
inline constexpr std::size_t fleet_noticed_entries = 32;

/// What a session keeps for explain(), allocated at its first event (one pointer until then).
struct session_diagnostics {
  session_diagnostics(std::size_t events, std::chrono::steady_clock::time_point origin)
      : recorder(events, origin) {}
  flight_recorder recorder;
  std::unique_ptr<recorded_error> last_error;  ///< allocated at the first error
};

struct session_actor_state {
  using self_pointer = session_actor_impl::pointer;

  session_config config;
  self_pointer self = nullptr;

  session_phase phase = session_phase::detached;
  session_state lifecycle = session_state::active;
  connection_state connection = connection_state::disconnected;
  bool closing = false;  ///< close requested; waiting for the last acknowledgement
  sync_errc stop_reason = sync_errc::session_stopped;  ///< told to waits issued once inactive
  bool link_seen = false;         ///< a link event arrived: link_server names a server
  std::uint16_t link_server = 0;  ///< link_event::server of the latest one (fits the padding)
  /// When the session tries again (its link's reconnect, or its own bind after a session-level
  /// error) after the latest retryable error, on the actor clock; time_point{} when no retry is
  /// pending (connecting, bound, paused, stopped). For "why isn't this realm synced" (issue 20).
  std::chrono::steady_clock::time_point retry_at{};

  protocol::session_ident ident = 0;  ///< of the current binding; 0 when unbound
  /// The token fetched at attach, kept for the BIND that follows it so the token provider is
  /// called once per BIND; null otherwise.
  std::unique_ptr<std::string> attach_token;
  protocol::version_type upload_cursor = 0;
  bool upload_in_outbox = false;
  bool persist_armed = false;  ///< a persist_atom is on its way (acknowledgements in memory)
  /// A DOWNLOAD arrived on the current binding: the server's downloadable figure is current.
  bool download_figures_current = false;
  bool publication_deferred = false;  ///< inside a pause or resume request (pause_request_scope)
  bool above_high_water = false;      ///< told backpressure_event{above_high_water = true} last
  bool fleet_in_error = false;        ///< an error since the session was last bound or paused
  /// Set by the store's commit listener when it sends local_commit_atom; cleared by the session
  /// before it reads the store (see init).
  std::shared_ptr<std::atomic<bool>> commit_notice_pending;
  protocol::request_ident next_request = 1;
  std::uint64_t rebind_generation = 0;
  /// Created at the first retryable session ERROR; most sessions never need one.
  std::unique_ptr<reconnect_backoff> rebind_backoff;

  /// Allocated at the first wait, released when the last one completes: an idle session holds
  /// one pointer instead of ~140 B of empty registries (docs/BENCHMARKS.md, idle sessions).
  std::unique_ptr<pending_waits> waits;
  wait_id next_wait = 1;
  std::uint64_t wait_timer_generation = 0;
  std::unique_ptr<caf::typed_response_promise<bool>> close_promise;  ///< set by close()

  progress_registry progress;
  progress_token next_token = 1;
  /// Every subscription by token (progress and subscription tokens come from next_token, so
  /// they never collide): one map for all kinds costs 48 B less per session than one per kind.
  flat_map<subscription_token, subscriber_entry> subscribers;
  /// Set only while a client reset runs (one pointer per idle session).
  std::unique_ptr<client_reset_progress> reset;
  /// The flight recorder and the latest error (session_explain.cpp).
  std::unique_ptr<session_diagnostics> diagnostics;
  /// Set while local writes are unacknowledged and the app keeps fleet figures.
  std::unique_ptr<noticed_writes> noticed;

  /// The store the sync protocol reads and writes: the staging realm during a client reset.
  storage::realm_store& sync_store() const { return reset ? *reset->staging : *config.store; }

  static inline const char* name = "actorsync.session";

  void init(self_pointer owner);  ///< config is set; starts the session
  std::string describe() const;   ///< "session[42] realm=/orders" for logs
  spdlog::logger& log() const { return logger_or_default(config.settings->log); }

  // ---- life cycle (session_actor.cpp) ----
  /// `record`: write the pause to the realm's metadata (requests through the actor handle). The
  /// facade records it itself before sending, and its later calls must not be overwritten.
  session_state pause(bool record);
  session_state resume(bool record);
  void close(close_session request, caf::typed_response_promise<bool> promise);
  bool finish_close_if_done();
  void set_lifecycle(session_state next);  ///< and publishes it (but see below)
  /// Publishes the lifecycle at the end of a pause or resume request: a facade's request is
  /// settled (published_status.hpp: a newer facade call's announced state stands), any other
  /// request publishes what the session did.
  void settle_request(bool from_facade);
  /// While a pause or resume request is handled, lifecycle changes are published once, at its
  /// end, by settle_request().
  struct pause_request_scope {
    session_actor_state& session;
    bool from_facade;
    pause_request_scope(session_actor_state& s, bool facade) : session(s), from_facade(facade) {
      session.publication_deferred = true;
    }
    ~pause_request_scope() {
      session.publication_deferred = false;
      session.settle_request(from_facade);
    }
  };
  void record_pause(bool paused);  ///< in the realm's metadata (sticky across restarts)
  /// Fatal: waits fail, session inactive. `reported`: on_error already recorded the error (else
  /// it is recorded here, for explain() and the fleet).
  void stop(sync_errc code, std::string message, bool reported = false);
  void shutdown_now();  ///< delivers every promise, then quits

  // ---- protocol (session_protocol.cpp) ----
  void attach();
  void detach();
  std::string fresh_token() const;  ///< from the settings' provider (empty without one)
  void refresh_link_token();        ///< after the link's token expired
  void send_attach();               ///< with a fresh token, kept for the next BIND
  void on_link_event(const link_event& event);
  void on_message(const protocol::server_message& message);
  void on_local_commit();  ///< reads what was committed from the store
  void on_frame_sent();
  void rebind(std::uint64_t generation);
  void session_ended(sync_errc code, const std::string& message);
  void send_bind();
  void send_marks();
  void upload_more();
  void send(const protocol::client_message& message, bool is_upload = false);
  void binding_lost();
  void schedule_persist();  ///< arms persist_atom if the store holds unwritten cursors
  void persist_acknowledgements();

  // ---- observers (session_observers.cpp) ----
  void add_upload_wait(std::chrono::milliseconds timeout, protocol::version_type target,
                       wait_responder responder);
  /// `server_version` 0: a MARK round trip; else until the download cursor reaches it.
  void add_download_wait(std::chrono::milliseconds timeout, protocol::version_type server_version,
                         wait_responder responder);
  void add_wait(const ticketed_wait& request);
  void store_wait(wait_id id, std::chrono::milliseconds timeout, wait_responder responder);
  /// A wait's deadline: its own timeout, else the app's request timeout when this realm cancels
  /// waits on non-fatal errors, else none (time_point::max()).
  std::chrono::steady_clock::time_point deadline_for(std::chrono::milliseconds timeout) const;
  void arm_wait_timer();
  void wait_timer_fired(std::uint64_t generation);
  /// Timers set with caf_0_17::set_timer arrive here; false: not one of ours.
  bool on_timer(caf::atom_value type, std::uint64_t id);
  void release_waits_if_done();  ///< frees `waits` and cancels its timer once none is pending
  void complete_waits(const std::vector<wait_id>& ids, wait_outcome outcome);
  void complete_all_waits(wait_outcome outcome);
  /// Reports an error to the error handler and subscribers; stops the session on a fatal one.
  /// `retry_in`: when the session tries again after a retryable one (0 for a fatal one).
  void on_error(sync_errc code, const std::string& message, std::chrono::milliseconds retry_in);
  std::string link_server_url() const;  ///< for error events; empty before the first link
  progress_token subscribe_progress(const runtime::subscribe_progress& request);
  bool unsubscribe_progress(progress_token token);
  void report_progress();
  void deliver_progress(const progress_delivery& delivery);
  subscription_token subscribe(caf::actor subscriber, subscription_kind kind);
  /// False when `token` is not a subscription of that kind.
  bool unsubscribe(subscription_token token, subscription_kind kind);
  void set_connection(connection_state next);
  void watch(const caf::actor& subscriber);  ///< monitors it unless it already subscribes
  void forget_subscriber(const caf::actor_addr& who);
  session_snapshot snapshot() const;
  /// Tells the backpressure observers when the unacknowledged bytes crossed a mark.
  void check_backpressure();

  // ---- diagnostics (session_explain.cpp) ----
  /// Brings the app's fleet figures up to date with this session (no-op without them).
  void publish_fleet();
  /// Notes when the session saw local writes up to meta.latest_client_version (if unacknowledged).
  void note_local_writes(const storage::sync_metadata& meta);
  void note_acknowledged(protocol::version_type acknowledged);
  void note_remote_commits(const protocol::download_message& m);
  void record(recorded_kind kind, std::uint8_t detail = 0, std::uint64_t value = 0,
              std::uint16_t count = 0);
  /// Records a DOWNLOAD; an acknowledgement also moves backpressure and the fleet's figures.
  void note_download(const protocol::download_message& m,
                     protocol::version_type acknowledged_before,
                     protocol::version_type acknowledged);
  void record_error(sync_errc code, const std::string& message, std::chrono::milliseconds retry_in);
  session_explanation explain() const;
  /// The flight recorder's events as log lines, after a fatal error.
  void log_recent_events() const;

  // ---- client reset (session_client_reset.cpp) ----
  /// Handles a client_reset_required ERROR by the realm's mode; false: stop as for any fatal
  /// error (manual mode, or a reset that is already running failed).
  bool reset_instead_of_stopping(const protocol::error_message& error);
  void begin_client_reset(client_reset_reason reason, std::string message);
  void resume_pending_reset();  ///< at start, after a restart in the middle of a reset
  /// During a reset, once the staging realm has its file ident on a binding: asks for a MARK.
  void staging_identified();
  /// True when `request` is the reset's MARK: the server's copy is complete and replaces the
  /// local state.
  bool finish_client_reset_at(protocol::request_ident request);
  void tell_client_reset(const client_reset_event& event);
};

}  // namespace actorsync::runtime
