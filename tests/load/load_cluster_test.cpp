// actorsync-load --cluster 2 (label cluster: it starts a real PostgreSQL, NATS servers and two
// actorsync-server nodes through the tool): a tiny upload run exits 0 with every write
// acknowledged through the nodes, its report names both nodes, and once the tool has exited
// nothing it started is left: no node, no postmaster, no nats-server, no directory.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/cluster/nats_instance.hpp"
#include "tests/cluster/pg_instance.hpp"
#include "tests/support/piped_child.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using actorsync::testing::piped_child;

/// No such process, or one that exited and waits to be reaped (a zombie runs nothing).
bool process_gone(std::int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return true;
  const auto close = text.rfind(')');
  return close != std::string::npos && text.compare(close + 2, 1, "Z") == 0;
}

TEST(LoadCluster, TwoNodesAcknowledgeEveryWriteAndNothingIsLeftBehind) {
  ACTORSYNC_REQUIRE_POSTGRES();
  ACTORSYNC_REQUIRE_NATS();
  const actorsync::testing::temp_dir dir("load-cluster");
  const auto json = dir.path() / "report.json";
  piped_child load({ACTORSYNC_LOAD_BINARY, "--cluster", "2", "--workload", "upload", "--realms",
                    "20", "--writes", "5", "--connections", "2", "--seed", "5", "--json",
                    json.string()});
  // The deadline only makes a hung run fail (the child is then killed by piped_child).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  std::string output;
  std::filesystem::path cluster_directory;
  while (const auto line = load.next_line(deadline)) {
    output += *line + '\n';
    // "PostgreSQL URL, NATS URLS (files in DIR)"
    if (const auto at = line->find("(files in "); at != std::string::npos)
      cluster_directory = line->substr(at + 10, line->size() - at - 11);
  }
  ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "still running:\n" << output;
  ASSERT_EQ(load.wait_exit(), 0) << output;

  std::ifstream in(json);
  ASSERT_TRUE(in) << "no JSON report written:\n" << output;
  const auto report = nlohmann::json::parse(in);
  EXPECT_TRUE(report["passed"].get<bool>());
  EXPECT_EQ(report["cluster_nodes"], 2);
  EXPECT_EQ(report["writes_committed"], 100);
  EXPECT_EQ(report["writes_acked"], 100);
  EXPECT_EQ(report["errors"], 0);
  const auto& servers = report["servers"];
  ASSERT_EQ(servers.size(), 2u);
  for (std::size_t i = 0; i < servers.size(); ++i) {
    EXPECT_EQ(servers[i]["node"], "node-" + std::to_string(i));
    EXPECT_EQ(servers[i]["url"].get<std::string>().rfind("ws://127.0.0.1:", 0), 0u);
    EXPECT_GT(servers[i]["pid"].get<std::int64_t>(), 0);
  }
  EXPECT_GE(servers[0]["connects"].get<int>(), 1);  // the upload's one app starts at node-0

  // client, node-0, node-1, postgresql, nats: everything but the client is gone.
  std::vector<std::string> names;
  for (const auto& p : report["processes"]) {
    names.push_back(p["name"]);
    if (p["name"] == "client") continue;
    ASSERT_FALSE(p["pids"].empty()) << p["name"];
    for (const auto& pid : p["pids"])
      EXPECT_TRUE(process_gone(pid.get<std::int64_t>())) << p["name"] << " pid " << pid;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"client", "node-0", "node-1", "postgresql", "nats"}));
  ASSERT_FALSE(cluster_directory.empty()) << output;
  EXPECT_FALSE(std::filesystem::exists(cluster_directory)) << cluster_directory;
}

}  // namespace
