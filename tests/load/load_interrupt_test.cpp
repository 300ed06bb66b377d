// Ctrl-C on a running actorsync-load: the real binary runs as a child process with its embedded
// server; once its progress line shows every session connected, it gets SIGINT and must end with
// a partial report (JSON written, interrupted, documented exit status 130).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/piped_child.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using actorsync::testing::piped_child;

TEST(LoadInterrupt, SigintGivesAPartialReportAndExitStatus130) {
  const actorsync::testing::temp_dir dir("load-interrupt");
  const auto json = dir.path() / "report.json";
  // Far more writes than the run can finish before the signal: it is stopped mid-way.
  piped_child load({ACTORSYNC_LOAD_BINARY, "--workload", "upload", "--realms", "40", "--writes",
                    "1000000", "--rate", "2000", "--seed", "3", "--max-duration", "600", "--json",
                    json.string()});
  // The deadline only makes a hung run fail (the child is then killed by piped_child).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);

  // Progress lines (plain, not a terminal) look like "[   2.0s] connected 40/40  acked ...":
  // every session counts as connected, including those connected before they were observed.
  std::string output;
  bool all_connected = false;
  while (!all_connected) {
    const auto line = load.next_line(deadline);
    if (!line) break;
    output += *line + '\n';
    all_connected = line->find("] connected 40/40  acked ") != std::string::npos &&
                    line->find("acked 0/") == std::string::npos;
  }
  ASSERT_TRUE(all_connected) << "no progress line with every session connected:\n" << output;

  load.signal(SIGINT);
  // Read to the end of its output (the child never blocks on a full pipe).
  while (const auto line = load.next_line(deadline)) output += *line + '\n';
  ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "still running:\n" << output;
  const int status = load.wait_exit();
  EXPECT_EQ(status, 130) << output;
  EXPECT_NE(output.find("actorsync-load report: upload"), std::string::npos) << output;

  std::ifstream in(json);
  ASSERT_TRUE(in) << "no JSON report written:\n" << output;
  const auto report = nlohmann::json::parse(in);
  EXPECT_TRUE(report["interrupted"].get<bool>());
  EXPECT_FALSE(report["passed"].get<bool>());
  EXPECT_EQ(report["workload"], "upload");
  EXPECT_EQ(report["sessions"], 40);
  const auto committed = report["writes_committed"].get<std::uint64_t>();
  const auto acked = report["writes_acked"].get<std::uint64_t>();
  EXPECT_GT(acked, 0u);
  EXPECT_LE(acked, committed);
  EXPECT_LT(committed, 40u * 1000000u);                                  // stopped early
  EXPECT_GE(report["latency_ms"]["count"].get<std::uint64_t>(), acked);  // late acks count too
}

}  // namespace
