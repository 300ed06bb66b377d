// Runs actorsync-load (with its embedded server child process) on small workloads and checks
// that the figures of its JSON report are consistent.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace {

struct load_result {
  int exit_status = -1;
  nlohmann::json report;
};

load_result run_load(const std::string& arguments) {
  const actorsync::testing::temp_dir dir("load-test");
  const auto json = dir.path() / "report.json";
  const auto command = std::string(ACTORSYNC_LOAD_BINARY) + " " + arguments + " --json " +
                       json.string() + " > /dev/null";
  load_result result;
  const int status = std::system(command.c_str());
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(json);
  if (in) result.report = nlohmann::json::parse(in);
  return result;
}

TEST(LoadWorkloads, UploadAcknowledgesEveryWriteOverOneSocket) {
  auto r = run_load("--workload upload --realms 200 --writes 5 --seed 1");
  ASSERT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.report["writes_committed"], 1000);
  EXPECT_EQ(r.report["writes_acked"], 1000);
  EXPECT_EQ(r.report["errors"], 0);
  EXPECT_EQ(r.report["sockets"], 1);
  EXPECT_EQ(r.report["latency_ms"]["count"], 1000);
  EXPECT_GT(r.report["progress_events"].get<int>(), 0);
  EXPECT_TRUE(r.report["server_fsync"].get<bool>());
}

TEST(LoadWorkloads, UploadWithoutMultiplexingUsesOneSocketPerSession) {
  auto r = run_load("--workload upload --realms 20 --writes 2 --multiplexing false");
  ASSERT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.report["writes_acked"], 40);
  EXPECT_EQ(r.report["sockets"], 20);
}

TEST(LoadWorkloads, IdleBindsEverySessionOnConfiguredConnections) {
  auto r = run_load("--workload idle --realms 200 --hold 0 --connections 2");
  ASSERT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.report["sessions"], 200);
  EXPECT_EQ(r.report["sockets"], 2);
  EXPECT_EQ(r.report["errors"], 0);
}

TEST(LoadWorkloads, FanoutDeliversEveryWriteToEveryReader) {
  auto r = run_load("--workload fanout --realms 2 --readers 3 --writes 20 --rate 400");
  ASSERT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.report["writes_acked"], 40);
  // Every write is seen by each of the 3 readers: one latency sample per (write, reader).
  EXPECT_EQ(r.report["latency_ms"]["count"], 120);
}

// The benchmark mode that separates the runtime from the disk: still delivers everything, and
// the report says it was not durable.
TEST(LoadWorkloads, FanoutWithoutServerFsyncIsReportedAsSuch) {
  auto r = run_load("--workload fanout --realms 1 --readers 2 --writes 10 --no-server-fsync");
  ASSERT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.report["latency_ms"]["count"], 20);
  EXPECT_FALSE(r.report["server_fsync"].get<bool>());
}

TEST(LoadWorkloads, ChurnConvergesEveryRealm) {
  auto r = run_load("--workload churn --realms 200 --writes 3 --seed 7");
  ASSERT_EQ(r.exit_status, 0);
  EXPECT_TRUE(r.report["converged"].get<bool>());
  EXPECT_TRUE(r.report["convergence_checked"].get<bool>());
  EXPECT_EQ(r.report["writes_acked"], r.report["writes_committed"]);
}

}  // namespace
