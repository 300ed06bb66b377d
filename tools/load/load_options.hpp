// What a load run is told on the command line (see docs/load-testing.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace actorsync::load {

struct load_options {
  std::string workload = "upload";  ///< upload | fanout | idle | churn | reset
  std::uint64_t realms = 10000;
  std::uint64_t writes = 100;  ///< per realm (upload, churn) or per writer (fanout)
  double rate = 0;             ///< writes/s over the whole run; 0: as fast as allowed
  std::uint64_t readers = 10;  ///< fanout: reader replicas per realm
  bool multiplexing = true;
  std::uint64_t connections = 1;  ///< with multiplexing: links (one per simulated user)
  /// External servers (nodes of one service), tried in this order with failover
  /// (app_config::server_urls); empty: start the embedded server.
  std::vector<std::string> server_urls;
  /// --cluster N: instead of the embedded server, an embedded cluster of N nodes on a throwaway
  /// PostgreSQL and NATS (embedded_cluster.hpp); 0: no cluster.
  std::uint64_t cluster_nodes = 0;
  std::string token;              ///< for an external server
  std::string token_secret_file;  ///< for an external server: issue tokens ourselves
  bool tls = false;
  std::string tls_trust_file;
  std::string tls_certificate_file;  ///< embedded server with TLS
  std::string tls_private_key_file;
  std::uint64_t seed = 0;  ///< 0: pick one (printed in the report)
  std::chrono::seconds max_duration{600};
  std::chrono::seconds hold{5};  ///< idle: how long to hold the bound sessions
  std::string json_path;
  std::string html_path;
  std::string chart_js_path;   ///< Chart.js inlined into the HTML page
  std::string data_directory;  ///< empty: a fresh temporary directory
  bool keep_data = false;
  std::string server_binary;
  bool client_fsync = false;  ///< fsync every local commit (Realm's default) or only WAL
  bool server_fsync = true;   ///< embedded server: fsync before acknowledging and sending on
  /// upload: afterwards a fresh replica downloads every realm and checks that each acknowledged
  /// write is there and nothing else is (judges a run during which servers were killed).
  bool verify = false;
};

}  // namespace actorsync::load
