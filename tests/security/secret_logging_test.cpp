// The token secret never reaches the server's output, even at debug level and while it refuses
// bad tokens; the binary reads it from a file or the environment, never from the command line.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <fstream>

#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {
namespace {

// Traffic that makes the server log about tokens: good, forged, expired, malformed.
void exercise_tokens(std::uint16_t port) {
  client_options options;
  options.port = port;
  options.token = make_token("alice", {"/*"});
  auto client = scripted_client::connect(options);
  bind_and_ident(*client, 1, "/secret-test");
  client->send(protocol::bind_message{2, "/secret-test", make_token("alice", {"/*"}, -10)});
  client->expect_error(protocol::error_code::token_expired, 2);
  client->send(protocol::bind_message{3, "/secret-test", "forged.token"});
  client->expect_error(protocol::error_code::bad_authentication, 3);
  for (const auto& bad : {std::string("garbage"), make_token("alice", {"/*"}, -10)}) {
    options.token = bad;
    EXPECT_THROW(scripted_client::connect(options), upgrade_refused);
  }
}

TEST(Secrets, TheTokenSecretNeverAppearsInTheServerOutputAtDebugLevel) {
  temp_dir dir;
  std::ofstream(dir.path() / "secret") << test_secret() << "\n";
  tools::server_process server(ACTORSYNC_SERVER_BINARY, dir.path() / "data", dir.path() / "secret",
                               {"--log-level", "debug"});
  exercise_tokens(server.ws_port());
  EXPECT_EQ(server.kill(SIGTERM), 0);
  const auto output = server.output();
  EXPECT_NE(output.find("actorsync-server ready"), std::string::npos);
  EXPECT_EQ(output.find(test_secret()), std::string::npos) << output;
  // Nor a recognisable part of it (a logger truncating the secret still leaks).
  EXPECT_EQ(output.find(test_secret().substr(0, 12)), std::string::npos) << output;
}

TEST(Secrets, TheSecretFromTheEnvironmentIsNotLoggedEither) {
  temp_dir dir;
  // The server reads ACTORSYNC_TOKEN_SECRET when no secret file is given; the child inherits it.
  ::setenv("ACTORSYNC_TOKEN_SECRET", test_secret().c_str(), 1);
  tools::server_process server(ACTORSYNC_SERVER_BINARY, dir.path() / "data", "",
                               {"--log-level", "debug"});
  ::unsetenv("ACTORSYNC_TOKEN_SECRET");
  exercise_tokens(server.ws_port());
  EXPECT_EQ(server.kill(SIGTERM), 0);
  EXPECT_EQ(server.output().find(test_secret().substr(0, 12)), std::string::npos);
}

}  // namespace
}  // namespace actorsync::testing
