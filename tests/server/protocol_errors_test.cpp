// Every bad input gets its typed ERROR; other sessions (on other connections, and for
// session-level errors on the same connection) keep working.
#include "server/sync_server.hpp"

#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "tests/server/scripted_client.hpp"
#include "tests/server/test_server.hpp"

namespace actorsync::test {
namespace {

using protocol::error_code;

// A session that keeps working: upload one changeset and see it acknowledged.
void expect_session_works(scripted_client& client, protocol::session_ident session,
                          protocol::version_type version) {
  client.send(protocol::upload_message{session, version, 0, {make_changeset(version, "k", 1)}});
  for (;;) {
    auto d = client.expect<protocol::download_message>();
    ASSERT_EQ(d.session, session);
    if (d.last_integrated_client_version >= version) return;
  }
}

class ProtocolErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    bystander_ = server_.connect();
    bind_and_ident(*bystander_, 1, "/bystander");
  }
  // The bystander on its own connection still works after the error.
  void TearDown() override { expect_session_works(*bystander_, 1, ++bystander_version_); }
  test_server server_{[](server::server_options& o) {
    o.max_sessions_per_connection = 3;
    o.max_frame_bytes = 64 * 1024;
    o.max_download_bytes = 16 * 1024;
    o.send_queue_bytes = 64 * 1024;
  }};
  std::unique_ptr<scripted_client> bystander_;
  protocol::version_type bystander_version_ = 0;
};

// Close codes: protocol.md §1 Closing, one test per row of its table (1001: sync_server_test and
// server_process_test; 1003: the text frame test; 1008: sync_server_test).
TEST_F(ProtocolErrors, UndecodableFrameIsAConnectionErrorThenClose) {
  auto client = server_.connect();
  const std::vector<std::uint8_t> garbage{0xc1, 0xff, 0x00, 0x13};
  client->send_frame(garbage);
  client->expect_error(error_code::bad_syntax, 0);
  EXPECT_EQ(client->wait_closed(), 1002);
}

// protocol.md §1 Frames: only binary messages carry the protocol. A text message is bad_syntax at
// connection level, closed with 1003, whether or not its payload is UTF-8 (unchecked, the first
// would be decoded as msgpack and Beast would close on the second with 1007 and no ERROR).
TEST_F(ProtocolErrors, TextFrameIsBadSyntaxThenClose1003) {
  const std::vector<std::uint8_t> utf8{'h', 'e', 'l', 'l', 'o'};
  protocol::byte_buffer not_utf8;
  protocol::encode(protocol::ping_message{1}, not_utf8);
  for (const auto& payload : {utf8, not_utf8}) {
    auto client = server_.connect();
    bind_and_ident(*client, 1, "/text");
    client->send_text_frame(payload);
    auto error = client->expect_error(error_code::bad_syntax, 0);
    EXPECT_FALSE(error.try_again);
    EXPECT_EQ(client->wait_closed(), 1003);
  }
}

TEST_F(ProtocolErrors, UnknownMessageTypeIsAConnectionError) {
  auto client = server_.connect();
  msgpack::sbuffer frame;
  msgpack::packer<msgpack::sbuffer> p(frame);
  p.pack_array(2);
  p.pack(99);
  p.pack(1);
  client->send_frame({reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size()});
  auto error = client->expect_error(error_code::unknown_message, 0);
  EXPECT_FALSE(error.try_again);
  EXPECT_EQ(client->wait_closed(), 1002);
}

TEST_F(ProtocolErrors, MessageForANeverBoundSessionIsBadSessionIdent) {
  auto client = server_.connect();
  client->send(protocol::client_mark_message{77, 1});
  client->expect_error(error_code::bad_session_ident, 0);
  EXPECT_EQ(client->wait_closed(), 1002);
}

TEST_F(ProtocolErrors, BindWithALiveIdentIsReuseOfSessionIdent) {
  auto client = server_.connect();
  bind_and_ident(*client, 4, "/reuse");
  client->send(protocol::bind_message{4, "/reuse", ""});
  client->expect_error(error_code::reuse_of_session_ident, 0);
  EXPECT_EQ(client->wait_closed(), 1002);
}

TEST_F(ProtocolErrors, UploadBeforeIdentIsASessionErrorAndTheOtherSessionGoesOn) {
  auto client = server_.connect();
  bind_and_ident(*client, 1, "/order");
  client->send(protocol::bind_message{2, "/order2", ""});
  client->send(protocol::upload_message{2, 1, 0, {make_changeset(1, "x", 1)}});
  client->expect_error(error_code::session_message_order, 2);
  expect_session_works(*client, 1, 1);
}

TEST_F(ProtocolErrors, MarkBeforeIdentIsBadMessageOrder) {
  auto client = server_.connect();
  client->send(protocol::bind_message{2, "/order", ""});
  client->send(protocol::client_mark_message{2, 1});
  client->expect_error(error_code::session_message_order, 2);
  client->send(protocol::ping_message{1});
  client->expect<protocol::pong_message>();
}

TEST_F(ProtocolErrors, UploadCursorGoingBackwardsIsBadProgress) {
  auto client = server_.connect();
  bind_and_ident(*client, 1, "/cursor");
  bind_and_ident(*client, 2, "/cursor-other");
  client->send(protocol::upload_message{1, 5, 0, {}});
  client->send(protocol::upload_message{1, 3, 0, {}});
  client->expect_error(error_code::bad_progress, 1);
  expect_session_works(*client, 2, 1);
}

TEST_F(ProtocolErrors, DownloadCursorBeyondTheHistoryIsBadProgress) {
  auto client = server_.connect();
  client->send(protocol::bind_message{1, "/future", ""});
  client->send(protocol::client_ident_message{1, 0, 0, 1000, 0});
  client->expect_error(error_code::bad_progress, 1);
}

TEST_F(ProtocolErrors, ForgedClientFileIdentIsRefused) {
  auto client = server_.connect();
  auto real = bind_and_ident(*client, 1, "/forged");
  client->send(protocol::bind_message{2, "/forged", ""});
  client->send(protocol::client_ident_message{2, real.ident, real.salt + 1, 0, 0});
  client->expect_error(error_code::bad_client_file_ident, 2);
  client->send(protocol::bind_message{3, "/forged", ""});
  client->send(protocol::client_ident_message{3, 999, 1, 0, 0});
  client->expect_error(error_code::bad_client_file_ident, 3);
  expect_session_works(*client, 1, 1);
}

TEST_F(ProtocolErrors, ChangesetCarryingAServerVersionIsBadChangeset) {
  auto client = server_.connect();
  bind_and_ident(*client, 1, "/invalid");
  bind_and_ident(*client, 2, "/invalid2");
  auto c = make_changeset(1, "x", 1);
  c.server_version = 5;
  client->send(protocol::upload_message{1, 1, 0, {c}});
  client->expect_error(error_code::bad_changeset, 1);
  expect_session_works(*client, 2, 1);
}

TEST_F(ProtocolErrors, ChangesetVersionsNotIncreasingAreBadClientVersion) {
  auto client = server_.connect();
  bind_and_ident(*client, 1, "/versions");
  client->send(
      protocol::upload_message{1, 2, 0, {make_changeset(2, "a", 1), make_changeset(1, "b", 1)}});
  client->expect_error(error_code::bad_client_version, 1);
}

TEST_F(ProtocolErrors, SessionsBeyondTheLimitGetTooManySessions) {
  auto client = server_.connect();
  bind_and_ident(*client, 1, "/a");
  bind_and_ident(*client, 2, "/b");
  bind_and_ident(*client, 3, "/c");
  client->send(protocol::bind_message{4, "/d", ""});
  auto error = client->expect_error(error_code::too_many_sessions, 4);
  EXPECT_TRUE(error.try_again);
  expect_session_works(*client, 1, 1);
  expect_session_works(*client, 3, 1);
}

// protocol.md §1 Closing: 1009 after limits_exceeded.
TEST_F(ProtocolErrors, OversizedFrameIsLimitsExceededThenClose1009) {
  auto client = server_.connect();
  std::vector<std::uint8_t> huge(100 * 1024, 0x90);
  client->send_frame(huge);
  client->expect_error(error_code::limits_exceeded, 0);
  EXPECT_EQ(client->wait_closed(), 1009);
}

TEST_F(ProtocolErrors, AfterASessionErrorUnbindStillGetsUnbound) {
  auto client = server_.connect();
  client->send(protocol::bind_message{2, "/x", ""});
  client->send(protocol::client_mark_message{2, 1});
  client->expect_error(error_code::session_message_order, 2);
  client->send(protocol::unbind_message{2});
  EXPECT_EQ(client->expect<protocol::unbound_message>().session, 2u);
}

TEST_F(ProtocolErrors, ErrorsAreCountedByCode) {
  auto client = server_.connect();
  client->send(protocol::client_mark_message{77, 1});
  client->expect_error(error_code::bad_session_ident, 0);
  auto [status, body] = http_get(server_.ports().metrics, "/metrics");
  EXPECT_EQ(status, 200);
  EXPECT_NE(body.find("actorsync_errors_total{code=\"bad_session_ident\"} 1"), std::string::npos)
      << body;
}

}  // namespace
}  // namespace actorsync::test
