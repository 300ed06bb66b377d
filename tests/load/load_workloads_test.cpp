// Runs actorsync-load (with its embedded server child process) on small workloads and checks
// that the figures of its JSON report are consistent.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
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
  // The timeline's seconds together hold every latency sample and every write: the first
  // second (and the last, partial one) are not dropped.
  const auto& timeline = r.report["timeline"];
  ASSERT_FALSE(timeline.empty());
  std::uint64_t samples = 0;
  for (const auto& point : timeline) {
    samples += point["latency_ms"]["count"].get<std::uint64_t>();
    EXPECT_TRUE(point.contains("writes_acked_per_s"));
    EXPECT_TRUE(point.contains("errors_per_s"));
  }
  EXPECT_EQ(samples, 1000u);
  EXPECT_EQ(timeline.back()["writes_acked"], 1000);
  // The run's context.
  const auto& run = r.report["run"];
  EXPECT_NE(run["command_line"].get<std::string>().find("--seed 1"), std::string::npos);
  EXPECT_EQ(run["started_at_utc"].get<std::string>().size(), 20u);  // 2026-12-07T17:30:00Z
  EXPECT_EQ(run["started_at_utc"].get<std::string>().back(), 'Z');
  EXPECT_GT(run["cpu_cores"].get<int>(), 0);
  EXPECT_GT(run["memory_bytes"].get<std::uint64_t>(), 0u);
  EXPECT_FALSE(run["version"].get<std::string>().empty());
}

// --html needs Chart.js: without it the tool refuses before the run, naming the package.
TEST(LoadWorkloads, HtmlWithoutChartJsIsRefusedBeforeTheRun) {
  const actorsync::testing::temp_dir scratch("load-test");
  const auto& dir = scratch.path();
  const auto command = std::string(ACTORSYNC_LOAD_BINARY) +
                       " --workload upload --realms 1 --writes 1 --chart-js /nonexistent.js" +
                       " --html " + (dir / "r.html").string() + " > /dev/null 2> " +
                       (dir / "err").string();
  const int status = std::system(command.c_str());
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 2);
  std::ifstream in(dir / "err");
  const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(err.find("libjs-chart.js"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir / "r.html"));
}

TEST(LoadWorkloads, HtmlReportInlinesChartJs) {
  if (!std::filesystem::exists("/usr/share/javascript/chart.js/chart.min.js")) {
    GTEST_SKIP() << "libjs-chart.js is not installed (tools/install-deps.sh installs it)";
  }
  const actorsync::testing::temp_dir scratch("load-test");
  const auto html = scratch.path() / "report.html";
  auto r = run_load("--workload upload --realms 10 --writes 2 --html " + html.string());
  ASSERT_EQ(r.exit_status, 0);
  std::ifstream in(html);
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("Chart.js v3"), std::string::npos);
  EXPECT_NE(page.find("<canvas id='chart-percentiles'"), std::string::npos);
  EXPECT_EQ(page.find("src="), std::string::npos);
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

// tools/run-load.sh passes defaults before the user's arguments: the later occurrence wins.
TEST(LoadWorkloads, LaterArgumentsOverrideEarlierOnes) {
  auto r =
      run_load("--workload upload --realms 5000 --writes 20 --workload idle --realms 20 --hold 0");
  ASSERT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.report["workload"], "idle");
  EXPECT_EQ(r.report["sessions"], 20);
}

TEST(LoadWorkloads, ChurnConvergesEveryRealm) {
  auto r = run_load("--workload churn --realms 200 --writes 3 --seed 7");
  ASSERT_EQ(r.exit_status, 0);
  EXPECT_TRUE(r.report["converged"].get<bool>());
  EXPECT_TRUE(r.report["convergence_checked"].get<bool>());
  EXPECT_EQ(r.report["writes_acked"], r.report["writes_committed"]);
}

}  // namespace

// The embedded server is a process of its own: the report has its resident memory over time
// (read when the workload starts, every few seconds and when it ends).
TEST(LoadWorkloads, ChurnRecordsTheServersResidentMemory) {
  auto r = run_load("--workload churn --realms 20 --writes 3 --seed 11");
  ASSERT_EQ(r.exit_status, 0) << r.report.dump(2);
  ASSERT_EQ(r.report["server_memory"].size(), 1u) << r.report.dump(2);
  const auto& memory = r.report["server_memory"][0];
  EXPECT_EQ(memory["name"], "embedded");
  EXPECT_EQ(memory["pid"], r.report["servers"][0]["pid"]);
  ASSERT_GE(memory["samples"].size(), 2u);  // the start and the end at least
  for (const auto& sample : memory["samples"]) EXPECT_GT(sample["rss_bytes"].get<double>(), 0);
  EXPECT_GE(memory["peak_bytes"].get<double>(), memory["start_bytes"].get<double>());
}

// The embedded server's data goes back to an older copy under 20 realms on two replicas: every
// replica resets, keeps the older writes and its unsynced one, and both replicas agree. The two
// server restarts are retryable errors, counted apart: the run passes.
TEST(LoadWorkloads, ResetRestoresTheServerAndEveryReplicaRecovers) {
  auto r = run_load("--workload reset --realms 20 --writes 4");
  ASSERT_EQ(r.exit_status, 0) << r.report.dump(2);
  EXPECT_EQ(r.report["client_resets"], 40);
  EXPECT_EQ(r.report["errors"], 0);
  EXPECT_GT(r.report["transient_errors"].get<int>(), 0);
  EXPECT_EQ(r.report["converged"], true);
  EXPECT_EQ(r.report["writes_committed"], 20 * (2 + 2 + 1));
  EXPECT_EQ(r.report["writes_acked"], r.report["writes_committed"]);
}

TEST(LoadWorkloads, ResetNeedsTheEmbeddedServer) {
  auto r = run_load("--workload reset --server-url ws://127.0.0.1:1 --token t");
  EXPECT_EQ(r.exit_status, 2);
}

// --max-duration bounds a run without failing it: the writers stop at the cap, the run settles
// and is judged like any other (exit 0 when everything written converged).
TEST(LoadWorkloads, MaxDurationStopsTheWritersAndTheRunStillPasses) {
  for (const auto* workload :
       {"--workload churn --realms 50 --writes 1000000 --seed 3",
        "--workload fanout --realms 2 --readers 2 --writes 1000000 --rate 500"}) {
    SCOPED_TRACE(workload);
    auto r = run_load(std::string(workload) + " --max-duration 2");
    EXPECT_EQ(r.exit_status, 0) << r.report.dump(2);
    EXPECT_EQ(r.report["stopped_at_max_duration"], true);
    EXPECT_EQ(r.report["interrupted"], false);
    EXPECT_EQ(r.report["errors"], 0);
    EXPECT_EQ(r.report["writes_acked"], r.report["writes_committed"]);
  }
}

// --verify: a fresh replica finds every acknowledged write and nothing else.
TEST(LoadWorkloads, VerifyFindsEveryAcknowledgedWriteInAFreshReplica) {
  auto r = run_load("--workload upload --realms 30 --writes 7 --verify");
  ASSERT_EQ(r.exit_status, 0) << r.report.dump(2);
  EXPECT_EQ(r.report["verified"], true);
  EXPECT_EQ(r.report["verify_missing"], 0);
  EXPECT_EQ(r.report["verify_unexpected"], 0);
  EXPECT_EQ(r.report["writes_acked"], 210);
}
