// What a session tells the outside: wait outcomes, progress reports, connection-state changes
// and errors. Subscribers are monitored so a dead one is forgotten.
#include <spdlog/spdlog.h>
#include <algorithm>
#include <caf/all.hpp>

#include "actors/caf_0_17.hpp"
#include "actors/session_actor_state.hpp"

namespace actorsync::runtime {

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
    add_upload_wait(request.timeout, request.target, std::move(responder));
  } else {
    const auto server_version = request.target == newest_at_handling ? 0 : request.target;
    add_download_wait(request.timeout, server_version, std::move(responder));
  }
}

void session_actor_state::add_upload_wait(std::chrono::milliseconds timeout,
                                          protocol::version_type target, wait_responder responder) {
  if (lifecycle == session_state::inactive) {
    responder.deliver(wait_outcome{wait_status::error, stop_reason});
    return;
  }
  if (reset) {  // its target would be renumbered by the reset (docs/sessions.md)
    responder.deliver(wait_outcome{wait_status::error, sync_errc::client_reset});
    return;
  }
  const auto meta = config.store->metadata();
  if (target == newest_at_handling) target = meta.latest_client_version;
  auto id = next_wait++;
  if (!waits) waits = std::make_unique<pending_waits>();
  if (waits->registry.add_upload(id, std::min(target, meta.latest_client_version),
                                 meta.acknowledged_client_version)) {
    responder.deliver(wait_outcome{});
    release_waits_if_done();
    return;
  }
  store_wait(id, timeout, std::move(responder));
}

void session_actor_state::add_download_wait(std::chrono::milliseconds timeout,
                                            protocol::version_type server_version,
                                            wait_responder responder) {
  if (lifecycle == session_state::inactive) {
    responder.deliver(wait_outcome{wait_status::error, stop_reason});
    return;
  }
  if (reset) {  // the realm's state is about to be replaced; ask again after the reset
    responder.deliver(wait_outcome{wait_status::error, sync_errc::client_reset});
    return;
  }
  auto id = next_wait++;
  if (!waits) waits = std::make_unique<pending_waits>();
  if (server_version != 0) {
    if (waits->registry.add_download_to(id, server_version,
                                        sync_store().metadata().download_server_version)) {
      responder.deliver(wait_outcome{});
      release_waits_if_done();
      return;
    }
    store_wait(id, timeout, std::move(responder));
    return;
  }
  waits->registry.add_download(id);
  store_wait(id, timeout, std::move(responder));
  send_marks();  // no-op unless bound: a paused session's wait waits for resume()
}

std::chrono::steady_clock::time_point session_actor_state::deadline_for(
    std::chrono::milliseconds timeout) const {
  if (timeout.count() > 0) return self->clock().now() + timeout;
  if (config.cancel_waits_on_nonfatal_error)
    return self->clock().now() + config.settings->default_wait_timeout;
  return std::chrono::steady_clock::time_point::max();  // the seed: a timeout is non-fatal
}

void session_actor_state::store_wait(wait_id id, std::chrono::milliseconds timeout,
                                     wait_responder responder) {
  responder.deadline = deadline_for(timeout);
  if (responder.deadline != std::chrono::steady_clock::time_point::max())
    waits->deadlines.emplace(responder.deadline, id);
  waits->responders.emplace(id, std::move(responder));
  arm_wait_timer();
  publish_fleet();
}

// Keeps one timer, due at the earliest deadline, cancelled once no wait is pending (why a CAF
// ordinary timer: caf_0_17.hpp). A timeout of an older generation, already on its way, is
// ignored.
void session_actor_state::arm_wait_timer() {
  if (!waits || waits->deadlines.empty()) return;
  const auto earliest = waits->deadlines.begin()->first;
  if (earliest >= waits->timer_at) return;  // the armed timer fires first
  waits->timer_at = earliest;
  caf_0_17::set_timer(self, wait_timer_type, earliest + std::chrono::milliseconds(1),
                      ++wait_timer_generation);
}

bool session_actor_state::on_timer(caf::atom_value type, std::uint64_t id) {
  if (type != wait_timer_type) return false;
  wait_timer_fired(id);
  return true;
}

void session_actor_state::wait_timer_fired(std::uint64_t generation) {
  if (generation != wait_timer_generation || !waits) return;
  waits->timer_at = std::chrono::steady_clock::time_point::max();
  const auto now = self->clock().now();  // the actor clock: virtual in tests
  std::vector<wait_id> expired;
  auto& deadlines = waits->deadlines;
  while (!deadlines.empty() && deadlines.begin()->first <= now) {
    const auto id = deadlines.begin()->second;
    if (waits->registry.remove(id)) expired.push_back(id);
    deadlines.erase(deadlines.begin());
  }
  complete_waits(expired, wait_outcome{wait_status::timed_out});
  arm_wait_timer();
}

void session_actor_state::complete_waits(const std::vector<wait_id>& ids, wait_outcome outcome) {
  if (!waits) return;
  for (auto id : ids) {
    auto i = waits->responders.find(id);
    if (i == waits->responders.end()) continue;
    waits->deadlines.erase({i->second.deadline, id});
    auto responder = std::move(i->second);
    waits->responders.erase(i);
    responder.deliver(outcome);
  }
  release_waits_if_done();
  publish_fleet();
}

void session_actor_state::release_waits_if_done() {
  if (!waits || !waits->empty()) return;
  if (waits->timer_at != std::chrono::steady_clock::time_point::max())
    caf_0_17::cancel_timer(self, wait_timer_type);
  ++wait_timer_generation;  // a timeout already on its way finds nothing to do
  waits.reset();
}

void session_actor_state::complete_all_waits(wait_outcome outcome) {
  if (waits) complete_waits(waits->registry.take_all(), outcome);
}

std::string session_actor_state::link_server_url() const {
  const auto& urls = config.settings->server_urls;
  if (!link_seen || !urls || link_server >= urls->size()) return {};
  return (*urls)[link_server];
}

void session_actor_state::on_error(sync_errc code, const std::string& message,
                                   std::chrono::milliseconds retry_in) {
  bool fatal = is_fatal(code);
  if (fatal) retry_in = {};
  retry_at = retry_in.count() > 0 ? self->clock().now() + retry_in
                                  : std::chrono::steady_clock::time_point{};
  record_error(code, message, retry_in);
  fleet_in_error = true;
  publish_fleet();
  const session_error_event event{config.realm_path, code,    fatal, message,
                                  link_server_url(), retry_in};
  if (config.settings->error_handler) caf::anon_send(config.settings->error_handler, event);
  for (auto& [token, entry] : subscribers)
    if (entry.kind == subscription_kind::errors) caf::anon_send(entry.who, event);
  if (fatal) {
    stop(code, message, /*reported=*/true);
  } else if (config.cancel_waits_on_nonfatal_error) {
    complete_all_waits({wait_status::error, code});
  }
}

progress_token session_actor_state::subscribe_progress(const runtime::subscribe_progress& request) {
  auto token = next_token++;
  const auto meta = sync_store().metadata();
  const bool upload = request.direction == progress_direction::upload;
  auto delivery = progress.add(token, request.direction, request.mode,
                               upload ? upload_figures(meta) : download_figures(meta),
                               upload || download_figures_current);
  if (request.subscriber) {
    if (!delivery.last) {
      auto who = caf::actor_cast<caf::actor>(request.subscriber);
      watch(who);
      subscribers.emplace(token, subscriber_entry{std::move(who), subscription_kind::progress});
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
  unsubscribe(token, subscription_kind::progress);
  return progress.remove(token);
}

void session_actor_state::report_progress() {
  if (progress.size() == 0) return;
  const auto meta = sync_store().metadata();
  for (auto& d : progress.update(progress_direction::upload, upload_figures(meta)))
    deliver_progress(d);
  for (auto& d : progress.update(progress_direction::download, download_figures(meta),
                                 download_figures_current))
    deliver_progress(d);
}

void session_actor_state::deliver_progress(const progress_delivery& d) {
  auto i = subscribers.find(d.token);
  if (i == subscribers.end() || i->second.kind != subscription_kind::progress) return;
  caf::anon_send(i->second.who,
                 transfer_progress{config.realm_path, d.report.direction, d.report.transferred,
                                   d.report.transferable, d.report.estimate, d.report.complete,
                                   d.token, d.last});
  if (d.last) subscribers.erase(i);
}

subscription_token session_actor_state::subscribe(caf::actor subscriber, subscription_kind kind) {
  auto token = next_token++;
  watch(subscriber);
  subscribers.emplace(token, subscriber_entry{std::move(subscriber), kind});
  return token;
}

bool session_actor_state::unsubscribe(subscription_token token, subscription_kind kind) {
  auto i = subscribers.find(token);
  if (i == subscribers.end() || i->second.kind != kind) return false;
  subscribers.erase(i);
  return true;
}

void session_actor_state::watch(const caf::actor& subscriber) {
  // One monitor per subscriber, however many subscriptions it holds: each monitor is a node in
  // the subscriber's own list, and one app actor often observes thousands of sessions.
  if (std::any_of(subscribers.begin(), subscribers.end(),
                  [&subscriber](const auto& entry) { return entry.second.who == subscriber; }))
    return;
  self->monitor(subscriber);
}

void session_actor_state::set_connection(connection_state next) {
  if (next == connection) return;  // observers never see the same state twice
  auto old = connection;
  connection = next;
  record(recorded_kind::connection, static_cast<std::uint8_t>(next));
  if (config.status) config.status->set_connection(next);
  publish_fleet();
  // Sent as the session, so a subscriber watching many sessions can tell them apart.
  const auto me = caf::actor_cast<caf::actor>(self);
  for (auto& [token, entry] : subscribers)
    if (entry.kind == subscription_kind::connection)
      caf::send_as(me, entry.who, connection_state_changed{config.realm_path, old, next});
}

void session_actor_state::forget_subscriber(const caf::actor_addr& who) {
  for (auto& [token, entry] : subscribers)
    if (entry.kind == subscription_kind::progress && entry.who.address() == who)
      progress.remove(token);
  erase_if(subscribers, [&who](const auto& entry) { return entry.second.who.address() == who; });
}

void session_actor_state::check_backpressure() {
  const auto& marks = config.backpressure;
  if (!marks) return;
  const auto meta = config.store->metadata();
  const auto pending = meta.uploadable_bytes - std::min(meta.uploadable_bytes, meta.uploaded_bytes);
  const bool crossed =
      above_high_water ? pending <= marks->low_water_bytes : pending > marks->high_water_bytes;
  if (!crossed) return;
  above_high_water = !above_high_water;
  const backpressure_event event{config.realm_path, above_high_water, pending};
  if (marks->callback) {
    try {
      marks->callback(event);
    } catch (const std::exception& e) {  // the application's code must not end the session
      log().error("{} backpressure callback threw: {}", describe(), e.what());
    }
  }
  if (marks->observer) caf::anon_send(marks->observer, event);
}

session_snapshot session_actor_state::snapshot() const {
  const auto meta = sync_store().metadata();
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
