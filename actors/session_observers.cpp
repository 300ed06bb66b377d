// What a session tells the outside: wait outcomes, progress reports, connection-state changes
// and errors. Subscribers are monitored so a dead one is forgotten.
#include <spdlog/spdlog.h>
#include <algorithm>
#include <caf/all.hpp>

#include "actors/session_actor_state.hpp"

namespace actorsync::runtime {

namespace {

std::chrono::milliseconds effective(std::chrono::milliseconds requested,
                                    std::chrono::milliseconds fallback) {
  return requested.count() > 0 ? requested : fallback;
}

}  // namespace

void wait_responder::deliver(const wait_outcome& outcome) {
  if (reply_to) {
    caf::anon_send(reply_to, wait_done{ticket, outcome});
  } else {
    promise.deliver(outcome);
  }
}

void session_actor_state::add_wait(const ticketed_wait& request) {
  wait_responder responder{{}, request.reply_to, request.ticket, {}};
  if (request.upload) {
    add_upload_wait(request.timeout, std::move(responder));
  } else {
    add_download_wait(request.timeout, std::move(responder));
  }
}

void session_actor_state::add_upload_wait(std::chrono::milliseconds timeout,
                                          wait_responder responder) {
  if (lifecycle == session_state::inactive) {
    responder.deliver(wait_outcome{wait_status::error, stop_reason});
    return;
  }
  refresh_metadata();
  auto id = next_wait++;
  if (waits.add_upload(id, meta.latest_client_version, meta.acknowledged_client_version)) {
    responder.deliver(wait_outcome{});
    return;
  }
  store_wait(id, timeout, std::move(responder));
}

void session_actor_state::add_download_wait(std::chrono::milliseconds timeout,
                                            wait_responder responder) {
  if (lifecycle == session_state::inactive) {
    responder.deliver(wait_outcome{wait_status::error, stop_reason});
    return;
  }
  auto id = next_wait++;
  waits.add_download(id);
  store_wait(id, timeout, std::move(responder));
  send_marks();  // no-op unless bound: a paused session's wait waits for resume()
}

void session_actor_state::store_wait(wait_id id, std::chrono::milliseconds timeout,
                                     wait_responder responder) {
  responder.deadline =
      self->clock().now() + effective(timeout, config.settings->default_wait_timeout);
  wait_deadlines.emplace(responder.deadline, id);
  wait_promises.emplace(id, std::move(responder));
  arm_wait_timer();
}

// Keeps one timer, due at the earliest deadline; a later timer of an older generation is stale.
void session_actor_state::arm_wait_timer() {
  if (wait_deadlines.empty()) return;
  const auto earliest = wait_deadlines.begin()->first;
  if (earliest >= wait_timer_at) return;  // the armed timer fires first
  wait_timer_at = earliest;
  const auto delay =
      std::chrono::duration_cast<std::chrono::milliseconds>(earliest - self->clock().now());
  self->delayed_send(self,
                     std::max(delay, std::chrono::milliseconds(0)) + std::chrono::milliseconds(1),
                     wait_timeout_atom_v, ++wait_timer_generation);
}

void session_actor_state::wait_timer_fired(std::uint64_t generation) {
  if (generation != wait_timer_generation) return;
  wait_timer_at = std::chrono::steady_clock::time_point::max();
  const auto now = self->clock().now();  // the actor clock: virtual in tests
  std::vector<wait_id> expired;
  while (!wait_deadlines.empty() && wait_deadlines.begin()->first <= now) {
    const auto id = wait_deadlines.begin()->second;
    if (waits.remove(id)) expired.push_back(id);
    wait_deadlines.erase(wait_deadlines.begin());
  }
  complete_waits(expired, wait_outcome{wait_status::timed_out});
  arm_wait_timer();
}

void session_actor_state::complete_waits(const std::vector<wait_id>& ids, wait_outcome outcome) {
  for (auto id : ids) {
    auto i = wait_promises.find(id);
    if (i == wait_promises.end()) continue;
    wait_deadlines.erase({i->second.deadline, id});
    i->second.deliver(outcome);
    wait_promises.erase(i);
  }
}

void session_actor_state::complete_all_waits(wait_outcome outcome) {
  complete_waits(waits.take_all(), outcome);
}

void session_actor_state::on_error(sync_errc code, const std::string& message) {
  bool fatal = is_fatal(code);
  for (auto& [token, who] : error_subscribers)
    caf::anon_send(who, session_error_event{config.realm_path, code, fatal, message});
  if (fatal) {
    stop(code, message);
  } else if (config.settings->cancel_waits_on_nonfatal_error) {
    complete_all_waits({wait_status::error, code});
  }
}

progress_token session_actor_state::subscribe_progress(const runtime::subscribe_progress& request) {
  auto token = next_token++;
  auto figures = request.direction == progress_direction::upload ? upload_figures(meta)
                                                                 : download_figures(meta);
  auto delivery = progress.add(token, request.direction, request.mode, figures);
  if (request.subscriber) {
    if (!delivery.last) {
      watch(request.subscriber);
      progress_subscribers.emplace(token, request.subscriber);
    }
    caf::anon_send(
        request.subscriber,
        transfer_progress{config.realm_path, delivery.report.direction, delivery.report.transferred,
                          delivery.report.transferable, delivery.report.estimate,
                          delivery.report.complete, token, delivery.last});
  }
  return token;
}

bool session_actor_state::unsubscribe_progress(progress_token token) {
  progress_subscribers.erase(token);
  return progress.remove(token);
}

void session_actor_state::report_progress() {
  if (progress.size() == 0) return;
  for (auto& d : progress.update(progress_direction::upload, upload_figures(meta)))
    deliver_progress(d);
  for (auto& d : progress.update(progress_direction::download, download_figures(meta)))
    deliver_progress(d);
}

void session_actor_state::deliver_progress(const progress_delivery& d) {
  auto i = progress_subscribers.find(d.token);
  if (i == progress_subscribers.end()) return;
  caf::anon_send(i->second,
                 transfer_progress{config.realm_path, d.report.direction, d.report.transferred,
                                   d.report.transferable, d.report.estimate, d.report.complete,
                                   d.token, d.last});
  if (d.last) progress_subscribers.erase(i);
}

subscription_token session_actor_state::subscribe_connection(caf::actor subscriber) {
  auto token = next_token++;
  watch(subscriber);
  connection_subscribers.emplace(token, std::move(subscriber));
  return token;
}

subscription_token session_actor_state::subscribe_errors(caf::actor subscriber) {
  auto token = next_token++;
  watch(subscriber);
  error_subscribers.emplace(token, std::move(subscriber));
  return token;
}

void session_actor_state::watch(const caf::actor& subscriber) {
  // One monitor per subscriber, however many subscriptions it holds: each monitor is a node in
  // the subscriber's own list, and one app actor often observes thousands of sessions.
  auto holds = [&subscriber](const auto& subscribers) {
    return std::any_of(subscribers.begin(), subscribers.end(),
                       [&subscriber](const auto& entry) { return entry.second == subscriber; });
  };
  if (holds(progress_subscribers) || holds(connection_subscribers) || holds(error_subscribers))
    return;
  self->monitor(subscriber);
}

void session_actor_state::set_connection(connection_state next) {
  if (next == connection) return;  // observers never see the same state twice
  auto old = connection;
  connection = next;
  // Sent as the session, so a subscriber watching many sessions can tell them apart.
  const auto me = caf::actor_cast<caf::actor>(self);
  for (auto& [token, who] : connection_subscribers)
    caf::send_as(me, who, connection_state_changed{config.realm_path, old, next});
}

void session_actor_state::forget_subscriber(const caf::actor_addr& who) {
  auto drop = [&who](auto& subscribers) {
    erase_if(subscribers, [&who](const auto& entry) { return entry.second.address() == who; });
  };
  for (auto& [token, actor] : progress_subscribers)
    if (actor.address() == who) progress.remove(token);
  drop(progress_subscribers);
  drop(connection_subscribers);
  drop(error_subscribers);
}

session_snapshot session_actor_state::snapshot() const {
  session_snapshot s;
  s.realm = config.realm_path;
  s.state = lifecycle;
  s.connection = connection;
  s.latest_client_version = meta.latest_client_version;
  s.acknowledged_client_version = meta.acknowledged_client_version;
  s.download_server_version = meta.download_server_version;
  s.pending_upload_bytes =
      meta.uploadable_bytes - std::min(meta.uploadable_bytes, meta.uploaded_bytes);
  return s;
}

}  // namespace actorsync::runtime
