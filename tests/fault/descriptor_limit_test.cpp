// Connections that never upgrade (issue 17, item 5): they are bounded apart from max_connections,
// the oldest dropped first, and connections and pending upgrades together never take the file
// descriptors the server keeps for its own files, so with a low descriptor limit and more idle
// sockets than it allows, a client still syncs and /metrics still answers.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/scripted_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_server.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {
namespace {

std::uint64_t metric(std::uint16_t metrics_port, const std::string& sample) {
  const auto [status, body] = http_get(metrics_port, "/metrics");
  const auto at = body.find("\n" + sample + " ");
  return status == 200 && at != std::string::npos ? std::stoull(body.substr(at + sample.size() + 2))
                                                  : 0;
}

// Sockets connected and never written to, closed on destruction.
struct idle_sockets {
  std::vector<int> fds;
  ~idle_sockets() {
    for (int fd : fds) ::close(fd);
  }
};

// True once the server closed `fd` (recv sees the end), without waiting when it has not.
bool closed_by_server(int fd) {
  char byte = 0;
  return ::recv(fd, &byte, 1, MSG_DONTWAIT) == 0;
}

void upload_one(scripted_client& client, const std::string& realm) {
  bind_and_ident(client, 1, realm);
  client.send(protocol::upload_message{1, 1, 0, {make_changeset(1, "a", 1)}});
  EXPECT_EQ(expect_acknowledgement(client, 1).last_integrated_client_version, 1u);
}

TEST(PendingUpgrades, TheOldestSocketThatNeverUpgradedMakesRoomForANewOne) {
  test_server server([](server::server_options& o) {
    o.max_pending_upgrades = 2;
    o.upgrade_timeout = std::chrono::hours(1);  // only the limit can free a slot
  });
  idle_sockets idle;
  for (int i = 0; i < 2; ++i) idle.fds.push_back(connect_raw(server.ports().ws));
  ASSERT_TRUE(eventually([&] {
    return server.instance().metrics().render_prometheus().find("actorsync_pending_upgrades 2\n") !=
           std::string::npos;
  }));
  // A third socket, a real client: the oldest idle one goes, the newer one stays.
  auto client = server.connect();
  upload_one(*client, "/pending/a");
  EXPECT_TRUE(eventually([&] { return closed_by_server(idle.fds[0]); }));
  EXPECT_FALSE(closed_by_server(idle.fds[1]));
}

TEST(DescriptorLimit, IdleSocketsBeyondTheLimitBlockNeitherClientsNorMetrics) {
  // The test itself holds more sockets than the server may.
  rlimit own{};
  getrlimit(RLIMIT_NOFILE, &own);
  own.rlim_cur = own.rlim_max;
  setrlimit(RLIMIT_NOFILE, &own);
  if (own.rlim_cur < 2048)
    GTEST_SKIP() << "the test needs 2048 descriptors; the hard limit is lower";

  temp_dir dir{"descriptor-limit"};
  std::ofstream(dir.path() / "secret") << test_secret() << "\n";
  // Only the new limits can free a slot within the test: the upgrade timeout is an hour.
  std::ofstream(dir.path() / "server.toml") << "[limits]\nupgrade_timeout_ms = 3600000\n";
  tools::server_process_options options;
  options.binary = ACTORSYNC_SERVER_BINARY;
  options.data_directory = dir.path() / "data";
  options.secret_file = dir.path() / "secret";
  options.extra_args = {"--config", (dir.path() / "server.toml").string()};
  options.max_open_files = 512;  // 512 - 320 kept = 192 sockets: 48 pending, 144 connections
  tools::server_process server(options);
  EXPECT_NE(server.output().find("are lowered to 144 and 48"), std::string::npos)
      << server.output();

  // More idle sockets than the server has descriptors (before: accept failed with EMFILE, and
  // nobody was served, /metrics included, until the upgrade timeout).
  idle_sockets idle;
  for (int i = 0; i < 600; ++i) idle.fds.push_back(connect_raw(server.ws_port()));

  client_options client;
  client.port = server.ws_port();
  client.token = make_token("alice", {"/*"});
  auto synced = scripted_client::connect(client);
  upload_one(*synced, "/descriptors/a");
  EXPECT_GE(metric(server.metrics_port(), "actorsync_pending_upgrades_dropped_total"), 500u);
  EXPECT_LE(metric(server.metrics_port(), "actorsync_pending_upgrades"), 48u);
}

}  // namespace
}  // namespace actorsync::testing
