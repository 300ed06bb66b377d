// Test support: a whole cluster on loopback for one test: a real PostgreSQL, real NATS servers
// (one, or several routed together) and N real actorsync-server processes (node-0 ...), each
// behind a fault_proxy so that its URL stays the same across kills and restarts. The same
// steps as tools/run-cluster.sh, through the same scripts.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/pg_history_store.hpp"
#include "cluster/rendezvous.hpp"
#include "tests/cluster/nats_instance.hpp"
#include "tests/cluster/pg_instance.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/scripted_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {

struct cluster_options {
  std::size_t nodes = 3;
  std::size_t nats_members = 1;
  int lease_time_ms = 2000;  ///< the shortest allowed: failover tests stay short
};

class test_cluster {
 public:
  static constexpr const char* secret = "cluster-tests-secret-0123456789abcdef";

  explicit test_cluster(cluster_options options = {})
      : options_(options), nats_(static_cast<int>(options.nats_members)) {
    std::ofstream(root_.path() / "secret") << secret << "\n";
    std::ofstream(root_.path() / "cluster.toml")
        << "[cluster]\nlease_time_ms = " << options.lease_time_ms << "\n";
    for (std::size_t i = 0; i < options.nodes; ++i) {
      nodes_.push_back(std::make_unique<tools::server_process>(
          ACTORSYNC_SERVER_BINARY, root_.path() / ("node-" + std::to_string(i)),
          root_.path() / "secret", node_args(i)));
      proxies_.push_back(std::make_unique<fault_proxy>(nodes_.back()->ws_port()));
    }
  }

  std::size_t size() const { return nodes_.size(); }
  static std::string node_id(std::size_t i) { return "node-" + std::to_string(i); }
  /// The node's URL as clients use it (its proxy: stable across restarts).
  std::string url(std::size_t i) const {
    return "ws://127.0.0.1:" + std::to_string(proxies_.at(i)->port());
  }
  tools::server_process& node(std::size_t i) { return *nodes_.at(i); }
  fault_proxy& proxy(std::size_t i) { return *proxies_.at(i); }
  const std::string& postgres_url() const { return postgres_.url(); }
  nats_instance& nats() { return nats_; }

  int kill(std::size_t i, int signal) {
    const int status = nodes_.at(i)->kill(signal);
    proxies_.at(i)->cut_all();
    return status;
  }
  void restart(std::size_t i) {
    nodes_.at(i)->start();
    proxies_.at(i)->set_upstream_port(nodes_.at(i)->ws_port());
  }

  /// "immediate" is a crash (recovery replays the WAL on start), "fast" a clean stop.
  void stop_postgres(const std::string& mode) {
    checker_.reset();
    postgres_.stop(mode);
  }
  void start_postgres() { postgres_.start(); }

  /// Realms owned per node, from PostgreSQL.
  std::map<std::string, std::size_t> owners() const {
    auto counts = checker().owners();
    if (!counts) throw std::runtime_error(counts.error().message);
    return counts.value();
  }

  /// Owned realms whose owner is not their preferred one among all the cluster's nodes (the
  /// placement a settled cluster converges to), from PostgreSQL.
  std::size_t misplaced_realms() const {
    auto owners = checker().realm_owners();
    if (!owners) throw std::runtime_error(owners.error().message);
    std::vector<std::string> all;
    for (std::size_t i = 0; i < nodes_.size(); ++i) all.push_back(node_id(i));
    std::size_t misplaced = 0;
    for (const auto& [realm, owner] : owners.value())
      if (cluster::preferred_owner(realm, all) != owner) ++misplaced;
    return misplaced;
  }

  /// Every realm's fencing epoch, from PostgreSQL.
  std::map<std::string, std::uint64_t> epochs() const {
    auto all = checker().epochs();
    if (!all) throw std::runtime_error(all.error().message);
    return all.value();
  }

  /// Sum over the replicas of the last client version PostgreSQL holds for each (committed,
  /// whether or not the client has been told).
  std::uint64_t integrated_in_postgres(const std::vector<replica_record>& replicas) const {
    std::uint64_t total = 0;
    for (const auto& r : replicas) {
      total += checker().last_integrated_client_version(r.realm, r.ident);
    }
    return total;
  }

  /// A sample of node i's /metrics (actorsync_<name>), -1 when it is not there.
  double metric(std::size_t i, const std::string& name) {
    const auto [status, body] = http_get(nodes_.at(i)->metrics_port(), "/metrics");
    if (status != 200) return -1;
    const auto prefix = "\nactorsync_" + name + " ";
    const auto at = body.find(prefix);
    return at == std::string::npos ? -1 : std::stod(body.substr(at + prefix.size()));
  }

  std::string outputs() {
    std::string out;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      out += "---- " + node_id(i) + " ----\n" + nodes_[i]->output();
    }
    return out;
  }

 private:
  std::vector<std::string> node_args(std::size_t i) const {
    std::string nats_urls;
    for (const auto& url : nats_.urls()) nats_urls += (nats_urls.empty() ? "" : ",") + url;
    return {"--config",    (root_.path() / "cluster.toml").string(),
            "--postgres",  postgres_.url(),
            "--node-id",   node_id(i),
            "--nats",      nats_urls,
            "--log-level", "info"};
  }

  cluster::pg_history_store& checker() const {
    if (!checker_) {
      cluster::pg_options o;
      o.url = postgres_.url();
      o.node_id = "checker";  // reads need no ownership
      o.take_lease = false;   // never a live node others would choose
      auto opened = cluster::pg_history_store::open(o);
      if (!opened) throw std::runtime_error(opened.error().message);
      checker_ = opened.value();
    }
    return *checker_;
  }

  cluster_options options_;
  temp_dir root_;
  pg_instance postgres_;
  nats_instance nats_;
  std::vector<std::unique_ptr<tools::server_process>> nodes_;
  std::vector<std::unique_ptr<fault_proxy>> proxies_;
  mutable std::shared_ptr<cluster::pg_history_store> checker_;
};

}  // namespace actorsync::testing
