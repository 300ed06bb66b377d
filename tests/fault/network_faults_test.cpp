// Cuts and stalls every few hundred milliseconds between the client runtime and a real server
// process, with frames split into 7-byte TCP segments throughout: sessions reconnect with
// backoff, every wait finishes, and the server history holds each write exactly once.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <random>

#include "tests/support/eventually.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/history_check.hpp"
#include "tests/support/sync_workload.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {
namespace {

const std::string secret = "fault-tests-secret-0123456789abcdef";

TEST(NetworkFaults, CutsAndStallsDuringWritesLoseAndDuplicateNothing) {
  constexpr int faults = 30;
  temp_dir root;
  const auto data = root.path() / "server-data";
  std::ofstream(root.path() / "secret") << secret << "\n";
  tools::server_process server(ACTORSYNC_SERVER_BINARY, data, root.path() / "secret",
                               {"--log-level", "warning"});
  fault_proxy proxy(server.ws_port());
  proxy.set_max_segment(7);

  sync_workload workload({.server_url = "ws://127.0.0.1:" + std::to_string(proxy.port()),
                          .data_directory = root.path() / "client",
                          .token_secret = secret,
                          .realms = 30,
                          .realm_prefix = "/net",
                          .wait_every = 10});
  workload.start_writing();
  std::mt19937 random(std::random_device{}());
  int cuts = 0, stalls = 0;
  for (int f = 0; f < faults; ++f) {
    // Each fault hits a flowing connection: wait for a new acknowledgement, then 100-400 ms.
    const auto before = workload.acknowledged_total();
    ASSERT_TRUE(eventually([&] { return workload.acknowledged_total() > before; }))
        << "no upload acknowledged after fault " << f;
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 300));
    if (random() % 2 == 0) {
      proxy.cut_all();
      ++cuts;
    } else {
      proxy.set_stalled(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 200));
      proxy.set_stalled(false);
      ++stalls;
    }
  }
  workload.stop_writing();

  const auto tally = workload.collect_waits(std::chrono::seconds(180));
  EXPECT_EQ(tally.unfinished, 0u);
  EXPECT_EQ(tally.timed_out, 0u);
  EXPECT_EQ(workload.upload_everything(), std::vector<std::string>{});
  EXPECT_EQ(workload.fatal_errors(), std::vector<std::string>{});
  EXPECT_EQ(workload.check_converged(root.path() / "fresh"), std::vector<std::string>{});
  EXPECT_GT(proxy.accepted_connections(), 1u) << "the cuts forced no reconnect";
  const auto records = workload.records();
  EXPECT_EQ(server.kill(SIGTERM), 0);
  EXPECT_EQ(check_history_exactly_once(data, records), std::vector<std::string>{});
  std::cout << "[ network faults ] " << cuts << " cuts, " << stalls << " stalls, "
            << workload.committed_total() << " commits, waits ok=" << tally.ok
            << " error=" << tally.error << ", connections " << proxy.accepted_connections() << "\n";
}

}  // namespace
}  // namespace actorsync::testing
