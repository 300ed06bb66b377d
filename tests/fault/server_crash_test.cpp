// The server binary SIGKILLed at random moments, 20 times, while 100 realms write through the
// client runtime behind a fault proxy (so the client's URL stays fixed across restarts). At the
// end: every committed write is in the server history exactly once, a fresh replica of every
// realm converges, every wait finished, no session saw a fatal error.
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

TEST(ServerCrash, TwentySigkillsLoseAndDuplicateNothingAcknowledged) {
  constexpr int kills = 20;
  temp_dir root;
  const auto data = root.path() / "server-data";
  std::ofstream(root.path() / "secret") << secret << "\n";
  tools::server_process server(ACTORSYNC_SERVER_BINARY, data, root.path() / "secret",
                               {"--log-level", "warning", "--no-metrics"});
  fault_proxy proxy(server.ws_port());

  sync_workload workload(
      {.server_url = "ws://127.0.0.1:" + std::to_string(proxy.port()),
       .data_directory = root.path() / "client",
       .token_secret = secret,
       .realms = 100,
       .realm_prefix = "/crash",
       // The runtime's default keepalive: a cut must be seen as a reset, not
       // found a minute later by the pong timeout (see tools/server_process/server_process.cpp).
       .ping_interval = api::app_config{}.ping_interval,
       .pong_timeout = api::app_config{}.pong_timeout});
  workload.start_writing();
  std::mt19937 random(std::random_device{}());
  for (int k = 0; k < kills; ++k) {
    // Kill while uploads are flowing: after the restarted server acknowledged something new,
    // then a random 0-150 ms later (the fault's moment, not a synchronisation).
    const auto before = workload.acknowledged_total();
    ASSERT_TRUE(eventually([&] { return workload.acknowledged_total() > before; }))
        << "no upload acknowledged after restart " << k;
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 150));
    const int status = server.kill(SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    proxy.cut_all();  // client halves of connections to the dead server end now
    server.start();
    proxy.set_upstream_port(server.ws_port());
  }
  workload.stop_writing();

  const auto tally = workload.collect_waits(std::chrono::seconds(180));
  EXPECT_EQ(tally.unfinished, 0u);
  EXPECT_EQ(tally.timed_out, 0u);
  EXPECT_GT(tally.ok, 0u);
  EXPECT_EQ(workload.upload_everything(), std::vector<std::string>{});
  EXPECT_EQ(workload.fatal_errors(), std::vector<std::string>{});
  EXPECT_EQ(workload.check_converged(root.path() / "fresh"), std::vector<std::string>{});
  const auto records = workload.records();
  server.kill(SIGKILL);  // a last crash: acknowledged data must be durable without a clean stop
  EXPECT_EQ(check_history_exactly_once(data, records), std::vector<std::string>{});
  std::uint64_t committed = 0;
  for (const auto& r : records) committed += r.committed;
  EXPECT_EQ(committed, workload.committed_total());
  std::cout << "[ server crash ] " << kills << " SIGKILLs, " << committed << " commits in "
            << records.size() << " realms, waits ok=" << tally.ok << " error=" << tally.error
            << ", proxy connections " << proxy.accepted_connections() << "\n";
}

}  // namespace
}  // namespace actorsync::testing
