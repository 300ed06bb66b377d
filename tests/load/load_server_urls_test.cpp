// actorsync-load against external servers given as a list (--server-url repeated or comma
// separated): the real binary runs through a dead first URL to a live actorsync-server child, and
// a URL that does not parse is refused before the run, naming it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/support/local_ports.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/server_process/server_process.hpp"

namespace {

using actorsync::testing::refusing_port;
using actorsync::testing::temp_dir;
using actorsync::testing::ws_url;

const std::string secret = "load-server-urls-secret-0123456789abcdef";

struct load_result {
  int exit_status = -1;
  nlohmann::json report;
  std::string errors;
};

load_result run_load(const temp_dir& dir, const std::string& arguments) {
  const auto json = dir.path() / "report.json";
  const auto err = dir.path() / "stderr";
  std::filesystem::remove(json);
  const auto command = std::string(ACTORSYNC_LOAD_BINARY) + " " + arguments + " --json " +
                       json.string() + " > /dev/null 2> " + err.string();
  load_result result;
  const int status = std::system(command.c_str());
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (std::ifstream in(json); in) result.report = nlohmann::json::parse(in);
  std::ifstream in(err);
  result.errors.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return result;
}

class LoadServerUrls : public ::testing::Test {
 protected:
  LoadServerUrls() { std::ofstream(root_.path() / "secret") << secret << "\n"; }

  std::string secret_option() const {
    return " --token-secret-file " + (root_.path() / "secret").string();
  }

  actorsync::tools::server_process start_server(const std::string& name) const {
    return actorsync::tools::server_process(
        actorsync::tools::find_server_binary(""), root_.path() / name, root_.path() / "secret",
        {"--log-level", "warning", "--no-metrics", "--no-fsync"});
  }

  temp_dir root_{"load-server-urls"};
};

TEST_F(LoadServerUrls, CommaSeparatedUrlsReachTheRunsAppsInOrder) {
  auto first = start_server("first");
  auto second = start_server("second");
  const auto urls = ws_url(first.ws_port()) + "," + ws_url(second.ws_port());
  auto r = run_load(root_, "--server-url " + urls + secret_option() +
                               " --workload upload --realms 20 --writes 2 --connections 2");
  ASSERT_EQ(r.exit_status, 0) << r.errors;
  EXPECT_EQ(r.report["writes_acked"], 40);
  const auto& servers = r.report["servers"];
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_EQ(servers[0]["url"], ws_url(first.ws_port()));
  EXPECT_GE(servers[0]["connects"].get<int>(), 2);  // each user's link starts at the first
  EXPECT_EQ(servers[1]["url"], ws_url(second.ws_port()));
  EXPECT_EQ(servers[1]["connects"], 0);
  EXPECT_EQ(servers[0]["errors"], 0);
}

// The run's writes all go through the live second server; the refused attempts at the dead first
// one are retryable session errors: counted apart (and for that server), and the run passes.
TEST_F(LoadServerUrls, RepeatedUrlsPassOverADeadFirstServer) {
  auto live = start_server("live");
  const refusing_port dead_port;
  const auto dead = ws_url(dead_port.port());
  auto r = run_load(root_, "--server-url " + dead + " --server-url " + ws_url(live.ws_port()) +
                               secret_option() + " --workload upload --realms 20 --writes 2");
  EXPECT_EQ(r.exit_status, 0) << r.errors;
  EXPECT_EQ(r.report["writes_committed"], 40);
  EXPECT_EQ(r.report["writes_acked"], 40);
  EXPECT_EQ(r.report["errors"], 0);
  const auto& servers = r.report["servers"];
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_GE(servers[0]["connects"].get<int>(), 1);
  EXPECT_GE(servers[1]["connects"].get<int>(), 1);
  // Every error happened at the dead server, and the report says so per server.
  EXPECT_EQ(servers[0]["errors"], r.report["transient_errors"]);
  EXPECT_GE(servers[0]["errors"].get<int>(), 1);
  EXPECT_EQ(servers[1]["errors"], 0);
  ASSERT_FALSE(r.report["transient_error_samples"].empty());
  for (const auto& e : r.report["transient_error_samples"])
    EXPECT_NE(e.get<std::string>().find("connect_failed"), std::string::npos) << e;
}

TEST_F(LoadServerUrls, AUrlThatDoesNotParseIsRefusedNamingIt) {
  auto r = run_load(root_, "--server-url ws://127.0.0.1:1,http://127.0.0.1:2" + secret_option() +
                               " --workload upload --realms 1 --writes 1");
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.errors.find("'http://127.0.0.1:2'"), std::string::npos) << r.errors;
}

}  // namespace
