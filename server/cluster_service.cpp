#include "server/cluster_service.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>

#include <actorsync/server/server_tuning.hpp>
#include "cluster/pg_history_store.hpp"

namespace actorsync::server {

namespace {

std::string joined(const std::vector<std::string>& urls) {
  std::string out;
  for (const auto& url : urls) out += (out.empty() ? "" : ",") + url;
  return out;
}

}  // namespace

storage::result<std::shared_ptr<cluster_service>> cluster_service::start(
    std::vector<std::string> nats_urls, std::shared_ptr<cluster::pg_history_store> store,
    std::chrono::milliseconds lease_time) {
  cluster::bus_options options;
  options.urls = std::move(nats_urls);
  options.name = store->node_id();
  auto bus = cluster::nats_bus::connect(options);
  if (!bus) return bus.error();
  std::shared_ptr<cluster_service> out(new cluster_service());
  out->store_ = std::move(store);
  out->bus_ = std::move(bus.value());
  cluster::router_options routing;
  routing.node_id = out->store_->node_id();
  // Half the lease: a stopped owner is detected (and replaced once its lease ran out) about as
  // fast as a dead one.
  routing.request_timeout = std::min(tuning::owner_request_timeout, lease_time / 2);
  routing.give_up_after = lease_time + tuning::owner_search_margin;
  auto* pg = out->store_.get();
  out->router_ = std::make_unique<cluster::realm_router>(
      out->bus_, [pg] { return pg->live_nodes(); }, routing);
  spdlog::info("cluster: node {} on NATS {}", routing.node_id, joined(options.urls));
  return out;
}

cluster_service::~cluster_service() {
  detach();
  router_.reset();  // pending requests complete with closed while the bus still runs
}

void cluster_service::deliver(std::string payload, cluster::bus_responder reply) {
  auto request = cluster::decode_bus_request(payload);
  if (!request) {
    spdlog::warn("cluster: dropped a bus request: {}", request.error().message);
    cluster::bus_reply refused;
    refused.ok = false;
    refused.error = request.error().code;
    refused.message = request.error().message;
    reply.respond(cluster::encode(refused));
    return;
  }
  caf::anon_send(directory_,
                 remote_request{std::make_shared<cluster::bus_request>(std::move(request.value())),
                                std::move(reply)});
}

// Handlers run on bus threads and may outlive a stopping service by one message.
cluster::nats_bus::message_handler cluster_service::delivering() {
  return [weak = weak_from_this()](std::string_view, std::string payload,
                                   cluster::bus_responder reply) {
    if (auto self = weak.lock()) self->deliver(std::move(payload), std::move(reply));
  };
}

storage::status cluster_service::attach(realm_directory_actor directory) {
  directory_ = std::move(directory);
  auto takes = bus_->subscribe(cluster::node_subject(node_id()), delivering());
  if (!takes) return takes.error();
  node_subscriptions_.push_back(std::move(takes.value()));
  auto changes = bus_->subscribe(
      std::string(cluster::all_changes_subject),
      [weak = weak_from_this()](std::string_view, std::string payload, cluster::bus_responder) {
        auto self = weak.lock();
        auto notice = cluster::decode_change_notice(payload);
        if (self && notice)
          caf::anon_send(self->directory_, change_seen{std::move(notice.value())});
      });
  if (!changes) return changes.error();
  node_subscriptions_.push_back(std::move(changes.value()));
  watcher_ = std::thread([this] { watch_placement(); });
  return storage::done{};
}

void cluster_service::detach() {
  node_subscriptions_.clear();
  {
    std::lock_guard lock(watcher_mutex_);
    watcher_stopping_ = true;
  }
  watcher_wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

// A joining node gets its share as soon as the others see its lease; a realm left on a
// non-preferred node by a failover moves back once the dead node's lease is gone or it returns.
// Nothing is sent while the live nodes stay the same (a realm taken on an older view checks
// itself: placement_settle).
void cluster_service::watch_placement() {
  std::unique_lock lock(watcher_mutex_);
  while (!watcher_wake_.wait_for(lock, tuning::placement_check_interval,
                                 [this] { return watcher_stopping_; })) {
    lock.unlock();
    auto nodes = store_->live_nodes();
    lock.lock();
    if (!nodes || nodes.value().empty() || nodes.value() == live_nodes_) continue;
    live_nodes_ = nodes.value();
    caf::anon_send(directory_, rebalance{std::move(nodes.value())});
  }
}

std::vector<std::string> cluster_service::latest_live_nodes() const {
  std::lock_guard lock(watcher_mutex_);
  return live_nodes_;
}

storage::result<cluster::bus_subscription> cluster_service::serve(const std::string& realm_path) {
  return bus_->subscribe(cluster::realm_subject(realm_path), delivering());
}

void cluster_service::to_owner(cluster::bus_request request,
                               cluster::realm_router::reply_callback done) {
  router_->to_owner(std::move(request), std::move(done));
}

void cluster_service::publish_change(const std::string& realm_path,
                                     protocol::version_type version) {
  bus_->publish(cluster::change_subject(realm_path),
                cluster::encode(cluster::change_notice{realm_path, version}));
}

void cluster_service::render_metrics(std::string& out, const server_metrics& metrics) const {
  const auto store = store_->stats();
  const auto bus = bus_->stats();
  const auto routed = router_->stats();
  auto n = [](std::uint64_t v) { return std::to_string(v); };
  auto seconds = [](std::uint64_t micros) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6f", static_cast<double>(micros) / 1e6);
    return std::string(text);
  };
  const auto counter = "counter";
  append_metric(out, "cluster_realms_owned", "gauge", "Realms this node owns now.",
                n(store.owned_realms));
  append_metric(out, "cluster_realm_acquisitions_total", counter,
                "Realms this node took (asked by another node, or for its own sessions).",
                n(metrics.realm_acquisitions.load(std::memory_order_relaxed)));
  append_metric(out, "cluster_realm_handovers_total", counter,
                "Realms this node handed to their preferred owner (rebalancing).",
                n(metrics.realm_handovers.load(std::memory_order_relaxed)));
  append_metric(out, "cluster_fenced_realms_total", counter,
                "Realms a group commit found taken by another node (nothing of them kept).",
                n(store.fenced_realms));
  append_metric(out, "cluster_commits_total", counter,
                "PostgreSQL transactions committed by the group-commit writer.",
                n(store.group_writes));
  append_metric(out, "cluster_commit_realm_heads_total", counter,
                "Realm heads moved by those commits (divided by commits: realms per commit).",
                n(store.realm_heads_written));
  append_metric(out, "cluster_commit_seconds_total", counter,
                "Time spent in committed group-commit transactions.", seconds(store.commit_micros));
  append_metric(out, "cluster_bus_requests_total", counter, "Requests sent over NATS.",
                n(bus.requests));
  append_metric(out, "cluster_bus_replies_total", counter, "Replies received over NATS.",
                n(bus.replies));
  append_metric(out, "cluster_bus_round_trip_seconds_total", counter,
                "Request-to-reply time of the replied requests (divided by replies: mean).",
                seconds(bus.round_trip_us_sum));
  append_metric(out, "cluster_bus_no_responders_total", counter,
                "Requests nobody subscribed to (a realm without an owner).", n(bus.no_responders));
  append_metric(out, "cluster_bus_timeouts_total", counter, "Requests not answered in time.",
                n(bus.timeouts));
  append_metric(out, "cluster_bus_reconnects_total", counter, "Reconnections to NATS.",
                n(bus.reconnects));
  append_metric(out, "cluster_bus_connected", "gauge", "1 while connected to NATS.",
                n(bus.connected ? 1 : 0));
  append_metric(out, "cluster_owner_requests_total", counter,
                "Uploads and ident grants sent to a realm's owner.", n(routed.requests));
  append_metric(out, "cluster_owner_retries_total", counter,
                "Attempts repeated while looking for a realm's owner.", n(routed.retries));
  append_metric(out, "cluster_take_requests_total", counter,
                "Requests to a preferred node to take a realm.", n(routed.takes_requested));
  append_metric(out, "cluster_owner_searches_failed_total", counter,
                "Requests that found no owner in time (the session got a retryable error).",
                n(routed.gave_up));
}

const std::string& cluster_service::node_id() const {
  return store_->node_id();
}

}  // namespace actorsync::server
