// The session actor's behaviour (one-line handlers into session_actor_state) and its life
// cycle: pause, resume, close, fatal stop. See session_actor_state.hpp for the state diagram.
#include "actors/session_actor.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/session_actor_state.hpp"

namespace actorsync::runtime {

namespace {

using self_pointer = session_actor_impl::stateful_pointer<session_actor_state>;

session_actor_impl::behavior_type session_behavior(self_pointer self, session_config config) {
  self->state.init(self, std::move(config));
  self->set_down_handler([self](caf::down_msg& msg) { self->state.forget_subscriber(msg.source); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    self->state.shutdown_now();
    self->quit(msg.reason);
  });
  auto* st = &self->state;
  return {
      [st](pause_atom) { return st->pause(); },
      [st](resume_atom) { return st->resume(); },
      [self, st](wait_for_upload request) {
        auto promise = self->make_response_promise<wait_outcome>();
        st->add_upload_wait(request.timeout, {promise, {}, 0, {}});
        return promise;
      },
      [self, st](wait_for_download request) {
        auto promise = self->make_response_promise<wait_outcome>();
        st->add_download_wait(request.timeout, {promise, {}, 0, {}});
        return promise;
      },
      [st](subscribe_progress request) { return st->subscribe_progress(request); },
      [st](unsubscribe_progress_atom, progress_token token) {
        return st->unsubscribe_progress(token);
      },
      [st](subscribe_connection_atom, caf::actor who) { return st->subscribe_connection(who); },
      [st](unsubscribe_connection_atom, subscription_token token) {
        return st->connection_subscribers.erase(token) > 0;
      },
      [st](subscribe_errors_atom, caf::actor who) { return st->subscribe_errors(who); },
      [st](get_state_atom) { return st->snapshot(); },
      [st](reconnect_atom) {
        caf::anon_send(st->config.connection_manager, reconnect_atom_v);
        return true;
      },
      [self, st](close_session request) {
        auto promise = self->make_response_promise<bool>();
        st->close(request, promise);
        return promise;
      },
      [st](local_commit_atom, protocol::version_type version, std::uint64_t) {
        st->on_local_commit(version);
      },
      [st](const link_event& event) { st->on_link_event(event); },
      [st](const incoming_message& in) {
        if (in.message) st->on_message(*in.message);
      },
      [st](frame_sent_atom) { st->on_frame_sent(); },
      [st](wait_timeout_atom, std::uint64_t generation) { st->wait_timer_fired(generation); },
      [st](rebind_atom, std::uint64_t generation) { st->rebind(generation); },
      [st](const ticketed_wait& request) { st->add_wait(request); },
      [st](persist_atom) { st->persist_acknowledgements(); },
  };
}

}  // namespace

void session_actor_state::init(self_pointer owner, session_config cfg) {
  self = owner;
  config = std::move(cfg);
  refresh_metadata();
  // The listener runs on the committing thread: it only sends a message, through a weak address
  // so that a store outliving the session never keeps it alive. One notice at a time: the
  // session reads the store's latest version when it handles it, so commits made meanwhile need
  // none of their own (a message per commit cost a mailbox push and often a worker wake-up).
  caf::actor_addr weak = caf::actor_cast<caf::actor_addr>(self);
  commit_notice_pending = std::make_shared<std::atomic<bool>>(false);
  config.store->set_commit_listener(
      [weak, pending = commit_notice_pending](const storage::commit_event& event) {
        if (pending->exchange(true)) return;  // the session has not read the last one yet
        if (auto session = caf::actor_cast<caf::actor>(weak))
          caf::anon_send(session, local_commit_atom_v, event.client_version, event.changeset_bytes);
      });
  if (config.start_paused) {
    lifecycle = session_state::paused;
  } else {
    attach();
  }
  spdlog::debug("{} started ({})", describe(), to_string(lifecycle));
}

std::string session_actor_state::describe() const {
  return "session[" + std::to_string(self ? self->id() : 0) + "] realm=" + config.realm_path;
}

session_state session_actor_state::pause() {
  if (lifecycle != session_state::active) return lifecycle;
  lifecycle = session_state::paused;
  if (phase == session_phase::binding || phase == session_phase::bound)
    send(protocol::unbind_message{ident});
  detach();
  complete_all_waits({wait_status::paused, sync_errc::connection_lost});
  set_connection(connection_state::disconnected);
  spdlog::debug("{} paused", describe());
  finish_close_if_done();
  return lifecycle;
}

session_state session_actor_state::resume() {
  if (lifecycle != session_state::paused) return lifecycle;
  lifecycle = session_state::active;
  refresh_metadata();
  attach();
  spdlog::debug("{} resumed", describe());
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
  bool uploaded = meta.acknowledged_client_version >= meta.latest_client_version;
  // A paused or stopped session cannot upload: closing it does not wait (Realm does the same).
  if (!uploaded && lifecycle == session_state::active) return false;
  shutdown_now();
  self->quit();
  return true;
}

void session_actor_state::stop(sync_errc code, std::string message) {
  spdlog::warn("{} stopped: {} ({})", describe(), to_string(code), message);
  if (phase == session_phase::binding || phase == session_phase::bound)
    send(protocol::unbind_message{ident});
  detach();
  lifecycle = session_state::inactive;
  stop_reason = code;
  phase = session_phase::stopped;
  set_connection(connection_state::disconnected);
  complete_all_waits({wait_status::error, code});
  finish_close_if_done();
}

void session_actor_state::shutdown_now() {
  if (phase == session_phase::binding || phase == session_phase::bound)
    send(protocol::unbind_message{ident});
  detach();
  lifecycle = session_state::inactive;
  set_connection(connection_state::disconnected);
  complete_all_waits({wait_status::error, sync_errc::session_stopped});
  if (close_promise && close_promise->pending()) close_promise->deliver(true);
}

session_actor spawn_session(caf::actor_system& system, session_config config) {
  return system.spawn(session_behavior, std::move(config));
}

}  // namespace actorsync::runtime
