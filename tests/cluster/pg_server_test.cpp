// End to end on PostgreSQL: the real actorsync-server binary keeps its history in PostgreSQL
// (--postgres, --node-id), clients sync through the runtime, the server is SIGKILLed mid-upload
// and restarted on the same node id: it takes its realms back (a higher epoch), every
// acknowledged changeset is in PostgreSQL exactly once, and fresh replicas download it all.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>

#include "tests/cluster/pg_history_check.hpp"
#include "tests/cluster/pg_instance.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/sync_workload.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {
namespace {

using namespace actorsync::cluster;

const std::string secret = "cluster-tests-secret-0123456789abcdef";

TEST(PgServer, SigkilledServerOnPostgresServesEverythingAcknowledgedAfterRestart) {
  ACTORSYNC_REQUIRE_POSTGRES();
  pg_instance postgres;
  temp_dir root;
  std::ofstream(root.path() / "secret") << secret << "\n";
  tools::server_process server(ACTORSYNC_SERVER_BINARY, root.path() / "unused-data",
                               root.path() / "secret",
                               {"--postgres", postgres.url(), "--node-id", "node-1", "--log-level",
                                "warning", "--no-metrics"});
  fault_proxy proxy(server.ws_port());
  sync_workload workload({.server_url = "ws://127.0.0.1:" + std::to_string(proxy.port()),
                          .data_directory = root.path() / "client",
                          .token_secret = secret,
                          .realms = 10,
                          .realm_prefix = "/pg",
                          .ping_interval = api::app_config{}.ping_interval,
                          .pong_timeout = api::app_config{}.pong_timeout});
  workload.start_writing();
  for (int k = 0; k < 2; ++k) {
    const auto before = workload.acknowledged_total();
    ASSERT_TRUE(eventually([&] { return workload.acknowledged_total() > before + 20; }))
        << "uploads not acknowledged after start " << k << ":\n"
        << server.output();
    const int status = server.kill(SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    proxy.cut_all();
    server.start();
    proxy.set_upstream_port(server.ws_port());
  }
  const auto before = workload.acknowledged_total();
  ASSERT_TRUE(eventually([&] { return workload.acknowledged_total() > before; }))
      << "no upload acknowledged after the last restart:\n"
      << server.output();
  workload.stop_writing();
  EXPECT_EQ(workload.upload_everything(), std::vector<std::string>{});
  EXPECT_EQ(workload.fatal_errors(), std::vector<std::string>{});
  // Fresh replicas download every realm from the restarted server: the data is still served.
  EXPECT_EQ(workload.check_converged(root.path() / "fresh"), std::vector<std::string>{});
  const auto records = workload.records();
  server.kill(SIGKILL);
  EXPECT_EQ(check_exactly_once(postgres.url(), records), std::vector<std::string>{});
  std::uint64_t committed = 0;
  for (const auto& r : records) committed += r.committed;
  EXPECT_EQ(committed, workload.committed_total());
  EXPECT_GT(committed, 40u);
}

}  // namespace
}  // namespace actorsync::testing
