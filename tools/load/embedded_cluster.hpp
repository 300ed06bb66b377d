// actorsync-load --cluster N: a whole cluster on 127.0.0.1 for one run, in a temporary
// directory: a throwaway PostgreSQL (tools/pg-test-instance.sh), NATS (tools/nats-test-instance.sh:
// one server for one node, three routed together for more) and N actorsync-server nodes
// (tools/server_process; node-0 ... with --config holding [cluster] lease_time_ms, --postgres,
// --node-id and --nats): the steps of tools/run-cluster.sh and tests/cluster/test_cluster.hpp.
//
// Stopping (stop() or the destructor, also while an exception unwinds): every node gets SIGTERM
// at once and drains, then NATS and PostgreSQL stop, then the directory goes. A tool that dies
// without that leaves nothing either: the nodes get SIGTERM when their parent dies
// (PR_SET_PDEATHSIG) and the scripts' watchdogs stop PostgreSQL and NATS once the tool's pid is
// gone. The scripts run in a process group of their own, so a Ctrl-C during start-up reaches the
// tool only, which then stops what it started. Not thread-safe; one owner.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace actorsync::tools {
class server_process;
}

namespace actorsync::load {

struct cluster_node {
  std::string id;           ///< node-0, node-1, ...
  std::string url;          ///< ws://127.0.0.1:PORT
  std::string metrics_url;  ///< http://127.0.0.1:PORT/metrics
  pid_t pid = 0;
};

class embedded_cluster {
 public:
  /// The lease the nodes run with (the server's default; nothing fails over during a run).
  static constexpr int lease_time_ms = 10000;

  /// Starts PostgreSQL, NATS and `nodes` nodes of `server_binary` with the token secret
  /// `secret` (through their environment) and blocks until every node printed its ready line.
  /// Throws std::runtime_error naming what failed after stopping what it had started; a
  /// missing PostgreSQL or nats-server (the scripts' exit code 3) names the package.
  embedded_cluster(std::size_t nodes, const std::filesystem::path& server_binary,
                   const std::string& secret, bool keep_directory);
  ~embedded_cluster();
  embedded_cluster(const embedded_cluster&) = delete;
  embedded_cluster& operator=(const embedded_cluster&) = delete;

  /// Stops everything (see above); false when a node did not shut down cleanly (exit code not
  /// 0) or a script failed. Once only; later calls return true.
  bool stop();

  const std::vector<cluster_node>& nodes() const { return nodes_; }
  std::vector<std::string> urls() const;
  const std::string& postgres_url() const { return postgres_url_; }
  const std::string& nats_urls() const { return nats_urls_; }
  const std::filesystem::path& directory() const { return root_; }
  /// PostgreSQL's postmaster (its backends are its children); 0 when not known.
  pid_t postgres_pid() const;
  /// Every nats-server of the run.
  std::vector<pid_t> nats_pids() const;

 private:
  void start(std::size_t nodes, const std::filesystem::path& server_binary,
             const std::string& secret);

  std::filesystem::path root_;
  bool keep_directory_ = false;
  bool postgres_started_ = false;
  bool nats_started_ = false;
  std::string postgres_url_;
  std::string nats_urls_;
  std::vector<std::unique_ptr<tools::server_process>> processes_;
  std::vector<cluster_node> nodes_;
};

}  // namespace actorsync::load
