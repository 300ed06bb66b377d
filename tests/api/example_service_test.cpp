// The example service runs against a real in-process server and every session it drives from
// its actor succeeds over one multiplexed socket.
#include "service.hpp"

#include <gtest/gtest.h>

#include "live_server.hpp"

TEST(ExampleService, DrivesEverySessionFromItsActor) {
  actorsync::testing::live_server server;
  actorsync::testing::temp_dir data("example");
  auto who = actorsync::testing::user("svc");
  embedded_service::options opts;
  opts.server_url = server.url();
  opts.user_id = who.user_id;
  opts.token = who.token;
  opts.data_directory = data.path();
  opts.realm_count = 8;
  auto s = embedded_service::run(opts);
  EXPECT_EQ(s.sessions, 8);
  EXPECT_TRUE(s.ok());
  EXPECT_GE(s.progress_reports, 8u);
  EXPECT_EQ(s.sockets_open, 1u);
}
