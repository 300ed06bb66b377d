// Internal to api/: the impl structs behind app and sync_session, and the bridge from blocking
// or future-returning calls to actor requests. Includes CAF; never included by public headers.
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include <actorsync/actors/session_messages.hpp>
#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include <actorsync/api/sync_session.hpp>
#include "actors/connection_manager.hpp"
#include "actors/io_runtime.hpp"
#include "actors/session_actor.hpp"
#include "api/client_metrics.hpp"
#include "api/wait_tickets.hpp"

namespace actorsync::api {

struct runtime_system_config : caf::actor_system_config {
  explicit runtime_system_config(std::size_t threads);
};

/// Lets a callback run only while its registration is live. Closing it waits for a running
/// callback, so once remove_*() or ~sync_session returned, that callback never runs again.
/// Recursive: a callback may remove its own registration.
struct callback_gate {
  std::recursive_mutex mutex;
  bool open = true;
  bool finished = false;  ///< an outstanding-work registration delivered its last report
  /// Closes the gate; true when the registration was still live.
  bool close() {
    std::lock_guard lock(mutex);
    const bool live = open && !finished;
    open = false;
    return live;
  }
};

/// A forwarder actor turning notifications into callback calls, and its gate. The session
/// forgets the forwarder's subscriptions when it exits (the session monitors its subscribers),
/// so removing a registration needs no reply from the session.
struct callback_registration {
  caf::actor forwarder;
  std::shared_ptr<callback_gate> gate;
};

/// A small actor that turns typed notifications into callback calls behind `gate`; it quits
/// after an outstanding-work registration's last report (when `f` returns true).
template <class Message, class F>
caf::actor spawn_callback(caf::actor_system& system, std::shared_ptr<callback_gate> gate, F f) {
  auto behavior = [f](caf::event_based_actor* self,
                      std::shared_ptr<callback_gate> g) -> caf::behavior {
    self->set_default_handler(caf::drop);
    return {[self, g, f](const Message& m) {
      std::lock_guard lock(g->mutex);
      if (!g->open) {
        self->quit();
      } else if (f(m)) {
        g->finished = true;
        self->quit();
      }
    }};
  };
  return system.spawn(behavior, std::move(gate));
}

/// The app's live sessions. A session leaves when its actor terminates (closed after its last
/// acknowledgement, closed now, or stopped at shutdown), so a service that opens and closes
/// realms for months keeps only the live ones. It has its own mutex because a terminating
/// session removes itself on a runtime thread: nobody holds it while waiting for a session.
class session_registry {
 public:
  /// Registers `session` as the latest of `path`; it removes itself when it terminates.
  static void add(const std::shared_ptr<session_registry>& registry, const std::string& path,
                  const runtime::session_actor& session,
                  std::shared_ptr<runtime::published_status> status);
  std::vector<runtime::session_actor> all() const;
  /// Live sessions by state, from what they published: no message to any session.
  void count_states(runtime_statistics& out) const;
  /// The latest session of `path` if it is still running (a reopen stops it first).
  runtime::session_actor latest(const std::string& path) const;
  std::size_t size() const;
  /// What the sessions push (fleet_counters.hpp); a session's share leaves when it terminates.
  const std::shared_ptr<runtime::fleet_counters> fleet =
      std::make_shared<runtime::fleet_counters>();

 private:
  void remove(caf::actor_id id, const std::string& path);
  mutable std::mutex mutex_;
  struct entry {
    runtime::session_actor actor;
    std::shared_ptr<runtime::published_status> status;
  };
  std::unordered_map<caf::actor_id, entry> sessions_;
  std::unordered_map<std::string, runtime::session_actor> latest_;
};

struct app::impl {
  app_config config;
  runtime::logger_ptr log;  ///< the app's "actorsync" logger (app_config::log_handler)
  /// app_config::server_url (when set), then server_urls, as given and as parsed.
  std::shared_ptr<const std::vector<std::string>> url_texts;  ///< shared with session settings
  std::vector<runtime::server_url> urls;
  // Declaration order is destruction order in reverse: io before the actor system.
  /// The app's own actor system; both null when it runs in the application's (make_app).
  std::unique_ptr<runtime_system_config> own_config;
  std::unique_ptr<caf::actor_system> own_system;
  caf::actor_system& system;
  std::unique_ptr<runtime::io_runtime> io;
  runtime::connection_manager_actor manager;
  runtime::bridge_actor bridge;  ///< issues every facade request, in call order
  /// The bridge's waits in flight; touched only on the bridge actor.
  std::shared_ptr<wait_tickets> tickets = std::make_shared<wait_tickets>();
  std::shared_ptr<storage::database> database;
  std::shared_ptr<std::atomic<std::uint64_t>> idents =
      std::make_shared<std::atomic<std::uint64_t>>(0);

  std::mutex mutex;  ///< guards everything below
  bool multiplexing;
  bool session_opened = false;
  std::uint64_t next_private_link = 1;
  /// Open realms by path; a realm removes its entry when its last handle goes.
  std::map<std::string, std::weak_ptr<realm>> realms;
  /// Token provider per user id, shared by that user's sessions (see open_realm).
  std::unordered_map<std::string, std::shared_ptr<const std::function<std::string()>>>
      token_providers;
  /// Session settings per user with multiplexing, shared by that user's sessions; rebuilt when
  /// the user's token provider changes (see open_realm).
  struct user_settings {
    std::shared_ptr<const std::function<std::string()>> provider;
    std::shared_ptr<const runtime::session_settings> settings;
  };
  std::unordered_map<std::string, user_settings> session_settings;
  /// Live sessions (not guarded by `mutex`: it has its own).
  std::shared_ptr<session_registry> sessions = std::make_shared<session_registry>();
  /// Guards every session's sync_session::impl::callbacks and the two members below.
  std::mutex callbacks_mutex;
  /// The session of each live notification token, so that a notification_token finds its
  /// registration without holding a pointer that its realm's destruction would leave dangling.
  std::unordered_map<std::uint64_t, sync_session::impl*> notification_owners;
  /// Fleet observers by token: the monitor actor and the callback's forwarder and gate.
  std::map<std::uint64_t, std::pair<caf::actor, callback_registration>> fleet_observers;
  std::uint64_t next_notification_token = 1;
  /// One actor forwarding every session's errors to config.error_handler (none without one).
  caf::actor error_forwarder;
  /// GET /metrics when app_config::metrics_endpoint is on; stopped first at destruction.
  std::unique_ptr<metrics_endpoint> endpoint;

  /// `host`: the application's actor system (with the runtime's types); null: one of its own.
  impl(app_config cfg, caf::actor_system* host);
  ~impl();
};

/// A session's callback registrations: created at the first, as most sessions never have one.
/// Tokens are the facade's own (the session's are never waited for), unique in the app.
struct session_callbacks {
  std::map<runtime::progress_token, callback_registration> progress;
  std::map<std::uint64_t, callback_registration> connection;
};

struct sync_session::impl {
  app::impl* owner = nullptr;
  /// The realm's store, for its path (a copy of the path cost 32 B, more when it is long), the
  /// newest local version (upload waits) and the recorded pause.
  std::shared_ptr<storage::realm_store> store;
  runtime::session_actor actor;
  /// What the session publishes; read by state() and connection_state().
  std::shared_ptr<runtime::published_status> status;
  /// The session's settings (shared per user), for user_id().
  std::shared_ptr<const runtime::session_settings> settings;
  /// Guarded by owner->callbacks_mutex: registrations are rare and short, and a mutex and two
  /// empty maps per session cost ~140 B of every idle session (docs/BENCHMARKS.md, idle sessions).
  std::unique_ptr<session_callbacks> callbacks;
};

/// The bridge actor (runtime::bridge_actor): forwards facade requests in arrival order (one
/// sender, one receiver: CAF keeps their order), so facade calls reach a session in the order
/// they were made, and keeps the facade's waits in flight (wait_tickets).
runtime::bridge_actor spawn_bridge(caf::actor_system& system,
                                   std::shared_ptr<wait_tickets> tickets);

/// The actor that turns session_error_events into calls of the app's error handler.
caf::actor spawn_error_forwarder(caf::actor_system& system,
                                 std::function<void(const runtime::session_error_event&)> handler);

/// Sends `xs...` to `target` through the bridge (so in facade call order) and returns at once;
/// a reply is dropped.
template <class Handle, class... Ts>
void send_in_order(const runtime::bridge_actor& bridge, const Handle& target, Ts... xs) {
  caf::anon_send(bridge, runtime::forward_in_order{caf::actor_cast<caf::actor>(target),
                                                   caf::make_message(std::move(xs)...)});
}

/// An upload (or download) wait through the bridge as a ticketed wait (wait_tickets.hpp): the
/// outcome (or `gone` when the session ended first) fulfils the future and is passed to
/// `callback` first (on a runtime thread). `target`: an upload wait's client version.
template <class Handle>
std::future<runtime::wait_outcome> ask_wait(const app::impl& owner, const Handle& session,
                                            bool upload, std::chrono::milliseconds timeout,
                                            protocol::version_type target,
                                            std::function<void(runtime::wait_outcome)> callback,
                                            runtime::wait_outcome gone) {
  auto promise = std::make_shared<std::promise<runtime::wait_outcome>>();
  auto future = promise->get_future();
  auto completion = std::make_shared<runtime::wait_completion>();
  completion->done = [callback = std::move(callback), promise](runtime::wait_outcome outcome) {
    if (callback) callback(outcome);
    promise->set_value(outcome);
  };
  completion->gone = gone;
  caf::anon_send(owner.bridge, runtime::issue_wait{caf::actor_cast<caf::actor>(session), upload,
                                                   timeout, target, std::move(completion)});
  return future;
}

/// A request to `target` answered through a future, without blocking the caller: a one-shot
/// actor asks and fulfils it; `on_error` when the target is gone or does not answer in time.
template <class Reply, class Handle, class... Ts>
std::future<Reply> ask_async(caf::actor_system& system, const Handle& target, Reply on_error,
                             Ts... xs) {
  auto promise = std::make_shared<std::promise<Reply>>();
  auto future = promise->get_future();
  // The promise is an argument: CAF 0.17.6 binds a null reference for argument-less spawns.
  auto asker = [target, on_error, xs...](caf::event_based_actor* self,
                                         std::shared_ptr<std::promise<Reply>> slot) {
    self->request(target, runtime::tuning::internal_request_timeout, xs...)
        .then(
            [self, slot](Reply reply) {
              slot->set_value(std::move(reply));
              self->quit();
            },
            [self, slot, on_error](caf::error&) {
              slot->set_value(on_error);
              self->quit();
            });
  };
  system.spawn(asker, std::move(promise));
  return future;
}

/// Blocks for a reply of `target`; `on_error` when it is gone or does not answer in time. For
/// the app's statistics only: never call it from a callback of this facade.
template <class Reply, class Handle, class... Ts>
Reply ask_blocking(caf::actor_system& system, const Handle& target, Reply on_error, Ts... xs) {
  caf::scoped_actor self{system};
  Reply out = on_error;
  self->request(target, runtime::tuning::internal_request_timeout, xs...)
      .receive([&out](Reply reply) { out = std::move(reply); }, [](caf::error&) {});
  return out;
}

}  // namespace actorsync::api
