// The session actor's behaviour (one-line handlers into session_actor_state) and its life
// cycle: pause, resume, close, fatal stop. See session_actor_state.hpp for the state diagram.
#include "actors/session_actor.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <cassert>
#include <stdexcept>
#include <utility>

#include "actors/caf_0_17.hpp"
#include "actors/session_actor_state.hpp"

namespace actorsync::runtime {

namespace {

session_actor_state& current();

/// The behavior of every session: handlers without captures, reaching their session through
/// current() (why: caf_0_17.hpp).
session_actor_impl::behavior_type make_session_behavior() {
  return {
      [](pause_atom) { return current().pause(/*record=*/true); },
      [](resume_atom) { return current().resume(/*record=*/true); },
      [](pause_atom, recorded_atom) { current().pause(/*record=*/false); },
      [](resume_atom, recorded_atom) { current().resume(/*record=*/false); },
      [](wait_for_upload request) {
        auto& st = current();
        auto promise = st.self->make_response_promise<wait_outcome>();
        st.add_upload_wait(request.timeout, request.target, {promise, {}, 0, {}});
        return promise;
      },
      [](wait_for_download request) {
        auto& st = current();
        auto promise = st.self->make_response_promise<wait_outcome>();
        st.add_download_wait(request.timeout, request.server_version, {promise, {}, 0, {}});
        return promise;
      },
      [](subscribe_progress request) { return current().subscribe_progress(request); },
      [](unsubscribe_progress_atom, progress_token token) {
        return current().unsubscribe_progress(token);
      },
      [](subscribe_connection_atom, const connection_observer& who) {
        return current().subscribe(caf::actor_cast<caf::actor>(who), subscription_kind::connection);
      },
      [](unsubscribe_connection_atom, subscription_token token) {
        return current().unsubscribe(token, subscription_kind::connection);
      },
      [](subscribe_errors_atom, const error_observer& who) {
        return current().subscribe(caf::actor_cast<caf::actor>(who), subscription_kind::errors);
      },
      [](get_state_atom) { return current().snapshot(); },
      [](explain_atom) { return current().explain(); },
      [](reconnect_atom) {
        caf::anon_send(current().config.settings->connection_manager, reconnect_atom_v);
        return true;
      },
      [](close_session request) {
        auto& st = current();
        auto promise = st.self->make_response_promise<bool>();
        st.close(request, promise);
        return promise;
      },
      [](local_commit_atom) { current().on_local_commit(); },
      [](const link_event& event) { current().on_link_event(event); },
      [](const incoming_message& in) {
        if (in.message) current().on_message(*in.message);
      },
      [](frame_sent_atom) { current().on_frame_sent(); },
      [](rebind_atom, std::uint64_t generation) { current().rebind(generation); },
      [](const ticketed_wait& request) { current().add_wait(request); },
      [](persist_atom) { current().persist_acknowledgements(); },
  };
}

/// The session actor: its state and the behavior every session shares (caf_0_17.hpp).
class session_object
    : public caf_0_17::shared_behavior_actor<session_actor_state, session_actor_impl> {
 public:
  session_object(caf::actor_config& cfg, session_config config) : shared_behavior_actor(cfg) {
    state.config = std::move(config);
  }

  behavior_type make_behavior() override {
    static const behavior_type shared = make_session_behavior();
    set_down_handler(
        [](caf::scheduled_actor*, caf::down_msg& msg) { current().forget_subscriber(msg.source); });
    set_exit_handler([](caf::scheduled_actor* self, caf::exit_msg& msg) {
      current().shutdown_now();
      self->quit(msg.reason);
    });
    state.init(this);
    return shared;
  }
};

session_actor_state& current() {
  return session_object::current();
}

}  // namespace

void session_actor_state::init(self_pointer owner) {
  self = owner;
  // The listener runs on the committing thread: it only sends a message, through a weak address
  // so that a store outliving the session never keeps it alive. One notice at a time: the
  // session reads the store's latest version when it handles it, so commits made meanwhile need
  // none of their own (a message per commit cost a mailbox push and often a worker wake-up).
  caf::actor_addr weak = caf::actor_cast<caf::actor_addr>(self);
  commit_notice_pending = std::make_shared<std::atomic<bool>>(false);
  config.store->set_commit_listener(
      [weak, pending = commit_notice_pending](const storage::commit_event&) {
        if (pending->exchange(true)) return;  // the session has not read the last one yet
        if (auto session = caf::actor_cast<caf::actor>(weak))
          caf::anon_send(session, local_commit_atom_v);
      });
  if (config.store->reset_pending()) resume_pending_reset();
  if (config.start_paused) record_pause(true);
  // Writes left unacknowledged by an earlier run count as noticed now (and may already be
  // above the high-water mark).
  note_local_writes(config.store->metadata());
  check_backpressure();
  {
    // Published once below: pause() and resume() calls of the facade may already be in flight.
    publication_deferred = true;
    if (config.start_paused || config.store->metadata().sync_paused) {
      set_lifecycle(session_state::paused);
    } else {
      set_lifecycle(session_state::active);
      attach();
    }
    publication_deferred = false;
    if (config.status) config.status->publish_at_start(lifecycle);
  }
  log().debug("{} started ({})", describe(), to_string(lifecycle));
}

std::string session_actor_state::describe() const {
  return "session[" + std::to_string(self ? self->id() : 0) + "] realm=" + config.realm_path;
}

void session_actor_state::set_lifecycle(session_state next) {
  if (next != lifecycle) record(recorded_kind::state, static_cast<std::uint8_t>(next));
  lifecycle = next;
  if (next == session_state::paused) fleet_in_error = false;  // the owner paused it
  if (config.status && !publication_deferred) config.status->publish(next);
  publish_fleet();
}

void session_actor_state::settle_request(bool from_facade) {
  if (!config.status) return;
  if (from_facade) {
    config.status->settle(lifecycle);
  } else {
    config.status->publish(lifecycle);
  }
}

void session_actor_state::record_pause(bool paused) {
  // A failed write leaves the pause in force for this session only; it is not worth stopping
  // the session for.
  if (auto status = config.store->set_sync_paused(paused); !status)
    log().warn("{} could not record {}: {}", describe(), paused ? "its pause" : "its resume",
               status.error().message);
}

session_state session_actor_state::pause(bool record) {
  if (record) record_pause(true);  // even when inactive: the facade records it then too
  const pause_request_scope scope(*this, !record);
  if (lifecycle != session_state::active) return lifecycle;
  set_lifecycle(session_state::paused);
  if (phase == session_phase::binding || phase == session_phase::bound)
    send(protocol::unbind_message{ident});
  detach();
  complete_all_waits({wait_status::paused, sync_errc::connection_lost});
  set_connection(connection_state::disconnected);
  log().debug("{} paused", describe());
  finish_close_if_done();
  return lifecycle;
}

session_state session_actor_state::resume(bool record) {
  if (record) record_pause(false);
  const pause_request_scope scope(*this, !record);
  if (lifecycle != session_state::paused) return lifecycle;
  set_lifecycle(session_state::active);
  attach();
  log().debug("{} resumed", describe());
  return lifecycle;
}

void session_actor_state::close(close_session request, caf::typed_response_promise<bool> promise) {
  closing = true;
  close_promise = std::make_unique<caf::typed_response_promise<bool>>(std::move(promise));
  if (request.stop_now) {
    shutdown_now();
    self->quit();
    return;
  }
  finish_close_if_done();
}

bool session_actor_state::finish_close_if_done() {
  if (!closing) return false;
  const auto meta = config.store->metadata();
  bool uploaded = meta.acknowledged_client_version >= meta.latest_client_version;
  // A paused or stopped session cannot upload: closing it does not wait (Realm does the same).
  if (!uploaded && lifecycle == session_state::active) return false;
  shutdown_now();
  self->quit();
  return true;
}

void session_actor_state::stop(sync_errc code, std::string message, bool reported) {
  log().warn("{} stopped: {} ({})", describe(), to_string(code), message);
  if (!reported) {
    record_error(code, message, {});
    fleet_in_error = true;
  }
  if (phase == session_phase::binding || phase == session_phase::bound)
    send(protocol::unbind_message{ident});
  detach();
  set_lifecycle(session_state::inactive);
  stop_reason = code;
  phase = session_phase::stopped;
  set_connection(connection_state::disconnected);
  complete_all_waits({wait_status::error, code});
  log_recent_events();
  finish_close_if_done();
}

void session_actor_state::shutdown_now() {
  if (phase == session_phase::binding || phase == session_phase::bound)
    send(protocol::unbind_message{ident});
  detach();
  set_lifecycle(session_state::inactive);
  set_connection(connection_state::disconnected);
  complete_all_waits({wait_status::error, sync_errc::session_stopped});
  if (close_promise && close_promise->pending()) close_promise->deliver(true);
}

session_actor spawn_session(caf::actor_system& system, session_config config) {
  // Misuse fails here, at the caller, instead of as a null dereference inside a handler later.
  if (!config.store) throw std::invalid_argument("spawn_session: config.store is null");
  if (config.backpressure &&
      config.backpressure->high_water_bytes <= config.backpressure->low_water_bytes)
    throw std::invalid_argument(
        "spawn_session: backpressure high_water_bytes must be above low_water_bytes");
  if (!config.settings) throw std::invalid_argument("spawn_session: config.settings is null");
  if (!config.settings->ident_source)
    throw std::invalid_argument("spawn_session: config.settings->ident_source is null");
  return system.spawn<session_object>(std::move(config));
}

}  // namespace actorsync::runtime
