// Internal. A server node's place in a cluster (docs/cluster.md): its bus connection, the
// router that finds a realm's owner, and the subscriptions through which other nodes reach
// this one. Present in the server context only when NATS URLs are configured; realm actors
// and the directory use it, the single-node path never does.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <actorsync/server/server_metrics.hpp>
#include "cluster/bus_messages.hpp"
#include "cluster/nats_bus.hpp"
#include "cluster/realm_router.hpp"
#include "server/server_messages.hpp"

namespace actorsync::cluster {
class pg_history_store;
}

namespace actorsync::server {

class cluster_service : public std::enable_shared_from_this<cluster_service> {
 public:
  /// Connects to NATS; the error names the URLs and the cause.
  static storage::result<std::shared_ptr<cluster_service>> start(
      std::vector<std::string> nats_urls, std::shared_ptr<cluster::pg_history_store> store,
      std::chrono::milliseconds lease_time);
  ~cluster_service();

  /// Subscribes this node's subject (take requests) and every change notice, both delivered to
  /// the directory, and starts watching the live nodes: when they change, the directory's
  /// realms with another preferred owner are told to hand over. Once, after the directory
  /// exists.
  storage::status attach(realm_directory_actor directory);
  /// Unsubscribes from everything (a stopping node answers nothing more) and stops watching the
  /// live nodes.
  void detach();

  /// Answer requests for `realm_path` (this node owns it) until the subscription is dropped.
  storage::result<cluster::bus_subscription> serve(const std::string& realm_path);
  /// Sends an upload or ident request to the realm's owner (see realm_router).
  void to_owner(cluster::bus_request request, cluster::realm_router::reply_callback done);
  /// Tells every node that `realm_path` reached `version`.
  void publish_change(const std::string& realm_path, protocol::version_type version);

  const std::string& node_id() const;
  /// The live nodes as last read by the placement watcher (empty before its first read).
  std::vector<std::string> latest_live_nodes() const;
  /// This node's cluster figures in Prometheus text (actorsync_cluster_*), for /metrics.
  void render_metrics(std::string& out, const server_metrics& metrics) const;
  cluster::pg_history_store& store() const { return *store_; }
  cluster::bus_stats bus_stats() const { return bus_->stats(); }
  cluster::router_stats router_stats() const { return router_->stats(); }

 private:
  cluster_service() = default;
  void deliver(std::string payload, cluster::bus_responder reply);
  cluster::nats_bus::message_handler delivering();
  void watch_placement();

  std::shared_ptr<cluster::pg_history_store> store_;
  std::shared_ptr<cluster::nats_bus> bus_;
  std::unique_ptr<cluster::realm_router> router_;
  realm_directory_actor directory_;
  std::vector<cluster::bus_subscription> node_subscriptions_;
  mutable std::mutex watcher_mutex_;
  std::vector<std::string> live_nodes_;  ///< under watcher_mutex_
  std::condition_variable watcher_wake_;
  bool watcher_stopping_ = false;
  std::thread watcher_;
};

}  // namespace actorsync::server
