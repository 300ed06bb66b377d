// Token authentication on the WebSocket upgrade and on each BIND.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include <actorsync/server/token.hpp>
#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"

namespace actorsync::testing {
namespace {

using protocol::error_code;

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
  EXPECT_EQ(upgrade_status(options, &body), 401);
  EXPECT_NE(body.find("missing bearer token"), std::string::npos) << body;
  expect_server_up(server);
}

TEST(Auth, MalformedTokenIsRefusedWith401) {
  test_server server;
  std::string body;
  EXPECT_EQ(upgrade_status(server.client("not-a-token"), &body), 401);
  EXPECT_NE(body.find("malformed"), std::string::npos) << body;
  auto raw = server.client("");
  raw.raw_authorization = "Basic YWxpY2U6c2VjcmV0";
  EXPECT_EQ(upgrade_status(raw), 401);
  expect_server_up(server);
}

TEST(Auth, WronglySignedTokenIsRefusedWith401) {
  test_server server;
  auto forged = server::issue_token(server::token_secret("not-the-server-secret"),
                                    {"mallory", {"/*"}, server::unix_now() + 3600});
  std::string body;
  EXPECT_EQ(upgrade_status(server.client(forged), &body), 401);
  EXPECT_NE(body.find("bad_signature"), std::string::npos) << body;
  expect_server_up(server);
}

TEST(Auth, ExpiredTokenIsRefusedWith401) {
  test_server server;
  std::string body;
  EXPECT_EQ(upgrade_status(server.client(make_token("alice", {"/*"}, -10)), &body), 401);
  EXPECT_NE(body.find("expired"), std::string::npos) << body;
  expect_server_up(server);
}

TEST(Auth, WrongSubprotocolIsRefusedWith400AndAClearBody) {
  test_server server;
  auto options = server.client(make_token("alice", {"/*"}));
  options.subprotocol = "actorsync.v0";
  std::string body;
  EXPECT_EQ(upgrade_status(options, &body), 400);
  EXPECT_EQ(body, "unsupported subprotocol, expected actorsync.v1");
  options.subprotocol.clear();
  EXPECT_EQ(upgrade_status(options), 400);
  expect_server_up(server);
}

TEST(Auth, RefusalsAreCounted) {
  test_server server;
  upgrade_status(server.client("garbage"));
  EXPECT_EQ(server.instance().metrics().upgrades_refused.load(), 1u);
}

// ---- protocol.md §1 "Refused upgrades": status and X-Actorsync-Reason ---------------------------

upgrade_refused refusal_of(const client_options& options) {
  try {
    scripted_client::connect(options);
  } catch (const upgrade_refused& e) {
    return e;
  }
  return upgrade_refused(101, "", "");
}

TEST(Auth, EveryUpgradeRefusalNamesItsReasonInAHeader) {
  test_server server;
  struct row {
    const char* input;
    std::function<void(client_options&)> adjust;
    int status;
    const char* reason;
  };
  const std::vector<row> rows{
      {"missing token", [](client_options& o) { o.token.reset(); }, 401, "bad_authentication"},
      {"malformed token", [](client_options& o) { o.token = "%%%"; }, 401, "bad_authentication"},
      {"wrongly signed token",
       [](client_options& o) {
         o.token = server::issue_token(server::token_secret("not-the-server-secret"),
                                       {"alice", {"/*"}, server::unix_now() + 60});
       },
       401, "bad_authentication"},
      {"expired token", [](client_options& o) { o.token = make_token("alice", {"/*"}, -10); }, 401,
       "token_expired"},
      {"wrong subprotocol", [](client_options& o) { o.subprotocol = "actorsync.v0"; }, 400,
       "wrong_protocol_version"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.input);
    auto options = server.client(make_token("alice", {"/*"}));
    r.adjust(options);
    const auto counted_before = server.instance().metrics().upgrades_refused_for(r.reason);
    const auto refused = refusal_of(options);
    EXPECT_EQ(refused.status, r.status);
    EXPECT_EQ(refused.reason, r.reason);
    // Counted under the reason it was answered with (actorsync_upgrades_refused_total{reason}).
    EXPECT_EQ(server.instance().metrics().upgrades_refused_for(r.reason), counted_before + 1);
  }
  expect_server_up(server);
}

TEST(Auth, APlainHttpRequestGets400NotWebsocketUpgrade) {
  test_server server;
  std::string reason;
  EXPECT_EQ(http_get(server.ports().ws, "/", &reason).first, 400);
  EXPECT_EQ(reason, "not_websocket_upgrade");
  expect_server_up(server);
}

TEST(Auth, ConnectionsBeyondTheLimitGet503TooManyConnections) {
  test_server server([](server::server_options& o) { o.max_connections = 1; });
  auto admitted = server.connect();
  // A PONG proves its connection actor runs, so the connection is counted.
  admitted->send(protocol::ping_message{1});
  admitted->expect<protocol::pong_message>();
  const auto refused = refusal_of(server.client(make_token("alice", {"/*"})));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.reason, "too_many_connections");
  admitted->send(protocol::ping_message{2});
  admitted->expect<protocol::pong_message>();
}

TEST(Auth, TheBearerSchemeNameIsCaseInsensitive) {
  test_server server;
  for (const auto* scheme : {"bearer ", "BEARER ", "bEaReR  "}) {
    SCOPED_TRACE(scheme);
    auto options = server.client("");
    options.raw_authorization = scheme + make_token("alice", {"/*"});
    auto client = scripted_client::connect(options);
    bind_and_ident(*client, 1, "/scheme");
  }
}

TEST(Auth, TwoAuthorizationHeadersAreRefusedWith400) {
  test_server server;
  auto options = server.client(make_token("alice", {"/*"}));
  options.extra_headers.emplace_back("Authorization", "Bearer " + make_token("bob", {"/*"}));
  const auto refused = refusal_of(options);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.reason, "bad_authentication");
  EXPECT_EQ(refused.body, "more than one Authorization header");
  expect_server_up(server);
}

TEST(Auth, AHeaderBlockOverTheLimitGets431) {
  test_server server;
  auto options = server.client(make_token("alice", {"/*"}));
  options.extra_headers.emplace_back("X-Padding", std::string(20 * 1024, 'p'));
  const auto refused = refusal_of(options);
  EXPECT_EQ(refused.status, 431);
  EXPECT_EQ(refused.reason, "headers_too_large");
  expect_server_up(server);
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
}  // namespace actorsync::testing
