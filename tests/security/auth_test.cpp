// Token authentication on the WebSocket upgrade and on each BIND.
#include <gtest/gtest.h>

#include "server/token.hpp"
#include "tests/server/scripted_client.hpp"
#include "tests/server/test_server.hpp"

namespace actorsync::test {
namespace {

using protocol::error_code;

int refused_status(const client_options& options, std::string* body = nullptr) {
  try {
    scripted_client::connect(options);
  } catch (const upgrade_refused& e) {
    if (body != nullptr) *body = e.body;
    return e.status;
  }
  return 101;
}

// The server is still serving after a refusal.
void expect_server_up(const test_server& server) {
  auto client = server.connect();
  client->send(protocol::ping_message{5});
  EXPECT_EQ(client->expect<protocol::pong_message>().timestamp, 5u);
}

TEST(Auth, MissingTokenIsRefusedWith401) {
  test_server server;
  auto options = server.client("");
  options.token.reset();
  std::string body;
  EXPECT_EQ(refused_status(options, &body), 401);
  EXPECT_NE(body.find("missing bearer token"), std::string::npos) << body;
  expect_server_up(server);
}

TEST(Auth, MalformedTokenIsRefusedWith401) {
  test_server server;
  std::string body;
  EXPECT_EQ(refused_status(server.client("not-a-token"), &body), 401);
  EXPECT_NE(body.find("malformed"), std::string::npos) << body;
  auto raw = server.client("");
  raw.raw_authorization = "Basic YWxpY2U6c2VjcmV0";
  EXPECT_EQ(refused_status(raw), 401);
  expect_server_up(server);
}

TEST(Auth, WronglySignedTokenIsRefusedWith401) {
  test_server server;
  auto forged = server::issue_token(server::token_secret("not-the-server-secret"),
                                    {"mallory", {"/*"}, server::unix_now() + 3600});
  std::string body;
  EXPECT_EQ(refused_status(server.client(forged), &body), 401);
  EXPECT_NE(body.find("bad_signature"), std::string::npos) << body;
  expect_server_up(server);
}

TEST(Auth, ExpiredTokenIsRefusedWith401) {
  test_server server;
  std::string body;
  EXPECT_EQ(refused_status(server.client(make_token("alice", {"/*"}, -10)), &body), 401);
  EXPECT_NE(body.find("expired"), std::string::npos) << body;
  expect_server_up(server);
}

TEST(Auth, WrongSubprotocolIsRefusedWith400AndAClearBody) {
  test_server server;
  auto options = server.client(make_token("alice", {"/*"}));
  options.subprotocol = "actorsync.v0";
  std::string body;
  EXPECT_EQ(refused_status(options, &body), 400);
  EXPECT_EQ(body, "unsupported subprotocol, expected actorsync.v1");
  options.subprotocol.clear();
  EXPECT_EQ(refused_status(options), 400);
  expect_server_up(server);
}

TEST(Auth, RefusalsAreCounted) {
  test_server server;
  refused_status(server.client("garbage"));
  EXPECT_EQ(server.instance().metrics().upgrades_refused.load(), 1u);
}

TEST(Auth, TokenForAnotherRealmIsPermissionDeniedForThatSessionOnly) {
  test_server server;
  auto client = server.connect(make_token("alice", {"/alice/*"}));
  bind_and_ident(*client, 1, "/alice/notes");
  client->send(protocol::bind_message{2, "/bob/notes", ""});
  auto error = client->expect_error(error_code::permission_denied, 2);
  EXPECT_FALSE(error.try_again);
  // The connection and its other session go on.
  client->send(protocol::upload_message{1, 1, 0, {make_changeset(1, "n", 1)}});
  EXPECT_EQ(client->expect<protocol::download_message>().last_integrated_client_version, 1u);
}

TEST(Auth, BindTokenReplacesTheUpgradeToken) {
  test_server server;
  auto client = server.connect(make_token("alice", {"/alice/*"}));
  // A BIND token for bob's realm lets this session in...
  bind_and_ident(*client, 1, "/bob/shared", make_token("bob", {"/bob/*"}));
  // ...and a BIND token must itself cover the realm, even if the upgrade token does.
  client->send(protocol::bind_message{2, "/alice/x", make_token("bob", {"/bob/*"})});
  client->expect_error(error_code::permission_denied, 2);
}

TEST(Auth, ExpiredBindTokenIsTokenExpired) {
  test_server server;
  auto client = server.connect();
  client->send(protocol::bind_message{1, "/x", make_token("alice", {"/*"}, -1)});
  auto error = client->expect_error(error_code::token_expired, 1);
  EXPECT_TRUE(error.try_again);
}

TEST(Auth, BadBindTokenIsBadAuthentication) {
  test_server server;
  auto client = server.connect();
  client->send(protocol::bind_message{1, "/x", "garbage.token"});
  client->expect_error(error_code::bad_authentication, 1);
  auto forged = server::issue_token(server::token_secret("not-the-server-secret"),
                                    {"alice", {"/*"}, server::unix_now() + 60});
  client->send(protocol::bind_message{2, "/x", forged});
  client->expect_error(error_code::bad_authentication, 2);
  bind_and_ident(*client, 3, "/x");
}

}  // namespace
}  // namespace actorsync::test
