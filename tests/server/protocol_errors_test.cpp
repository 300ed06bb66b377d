// Every bad input gets its typed ERROR; other sessions (on other connections, and for
// session-level errors on the same connection) keep working.
#include <actorsync/server/sync_server.hpp>

#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"

namespace actorsync::testing {
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

// A replica that saw more history than the server has (a restore): it must reset.
TEST_F(ProtocolErrors, DownloadCursorBeyondTheHistoryIsBadServerVersion) {
  auto client = server_.connect();
  client->send(protocol::bind_message{1, "/future", ""});
  client->send(protocol::client_ident_message{1, 0, 0, 1000, 0});
  client->expect_error(error_code::bad_server_version, 1);
}

TEST_F(ProtocolErrors, IntegratedClientVersionBeyondTheServersIsBadServerVersion) {
  auto client = server_.connect();
  auto real = bind_and_ident(*client, 1, "/ahead");
  client->send(protocol::bind_message{2, "/ahead", ""});
  client->send(protocol::client_ident_message{2, real.ident, real.salt, 0, 7});
  client->expect_error(error_code::bad_server_version, 2);
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

// protocol.md §8 Session error (the diagram's example).
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

// ---- the rules of docs/protocol.md, one test each, named by section -------------------------

// Reads until a MARK with `request` and a DOWNLOAD acknowledging `version` both arrived, in
// whatever order; any other message fails.
void expect_ack_and_mark(scripted_client& client, protocol::session_ident session,
                         protocol::version_type version, protocol::request_ident request) {
  bool acked = false, marked = false;
  while (!acked || !marked) {
    auto message = client.receive();
    if (auto* d = std::get_if<protocol::download_message>(&message)) {
      ASSERT_EQ(d->session, session);
      acked = acked || d->last_integrated_client_version >= version;
    } else if (auto* m = std::get_if<protocol::server_mark_message>(&message)) {
      ASSERT_EQ(m->request, request);
      marked = true;
    } else {
      FAIL() << scripted_client::describe(message);
    }
  }
}

// protocol.md §6 rule 1: UPLOAD and MARK sent right behind IDENT(0), before the server's IDENT,
// are held until the file ident is allocated, then processed; no session_message_order.
TEST_F(ProtocolErrors, UploadAndMarkBeforeTheServersIdentAreHeldUntilIdentified) {
  auto client = server_.connect();
  client->send(protocol::bind_message{1, "/held", ""});
  client->send(protocol::client_ident_message{1, 0, 0, 0, 0});
  client->send(protocol::upload_message{1, 1, 0, {make_changeset(1, "held", 1)}});
  client->send(protocol::client_mark_message{1, 9});
  EXPECT_NE(client->expect<protocol::server_ident_message>().client_file_ident, 0u);
  expect_ack_and_mark(*client, 1, 1, 9);
}

// protocol.md §6: one connection may bind the same realm twice; the two sessions are separate
// replicas and each downloads what the other uploads.
TEST_F(ProtocolErrors, OneConnectionMayBindTheSameRealmTwice) {
  auto client = server_.connect();
  const auto first = bind_and_ident(*client, 1, "/twice");
  const auto second = bind_and_ident(*client, 2, "/twice");
  EXPECT_NE(first.ident, second.ident);
  client->send(protocol::upload_message{1, 1, 0, {make_changeset(1, "one", 1)}});
  bool acked = false, downloaded = false;
  while (!acked || !downloaded) {
    auto d = client->expect<protocol::download_message>();
    if (d.session == 1) acked = acked || d.last_integrated_client_version >= 1;
    if (d.session == 2) downloaded = downloaded || d.changesets.size() == 1;
  }
}

// Every changeset of `realm`, read by a fresh replica up to a MARK.
std::vector<protocol::changeset> history_of(const test_server& server, const std::string& realm) {
  auto reader = server.connect();
  bind_and_ident(*reader, 1, realm);
  reader->send(protocol::client_mark_message{1, 1});
  std::vector<protocol::changeset> history;
  for (auto message = reader->receive();
       !std::holds_alternative<protocol::server_mark_message>(message);
       message = reader->receive()) {
    for (auto& c : std::get<protocol::download_message>(message).changesets) {
      history.push_back(std::move(c));
    }
  }
  return history;
}

// Sends `upload` and a MARK; reads until both its acknowledgement and the MARK arrived (an
// ERROR fails the test).
void upload_then_mark(scripted_client& client, const protocol::upload_message& upload) {
  client.send(upload);
  client.send(protocol::client_mark_message{upload.session, 7});
  expect_ack_and_mark(client, upload.session, upload.client_version, 7);
}

// protocol.md §7 Re-sent changesets (and §8, reconnect with re-upload): changesets at or below
// the last integrated client version are skipped, not refused, in the same binding and in a new
// one; each is in the history once.
TEST_F(ProtocolErrors, ReSentChangesetsAreSkippedNotRefused) {
  auto client = server_.connect();
  const auto replica = bind_and_ident(*client, 1, "/resend");
  const auto cs1 = make_changeset(1, "a", 1), cs2 = make_changeset(2, "b", 2);
  upload_then_mark(*client, {1, 1, 0, {cs1}});
  upload_then_mark(*client, {1, 2, 0, {cs1, cs2}});
  auto again = server_.connect();  // a reconnect that lost the acknowledgement of 2
  again->send(protocol::bind_message{1, "/resend", ""});
  again->send(protocol::client_ident_message{1, replica.ident, replica.salt, 0, 1});
  upload_then_mark(*again, {1, 2, 0, {cs2}});
  const auto history = history_of(server_, "/resend");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].instructions, cs1.instructions);
  EXPECT_EQ(history[1].instructions, cs2.instructions);
}

// protocol.md §7: the client version of an UPLOAD is at least that of its last changeset.
TEST_F(ProtocolErrors, UploadVersionBelowItsLastChangesetIsBadClientVersion) {
  auto client = server_.connect();
  bind_and_ident(*client, 1, "/below");
  bind_and_ident(*client, 2, "/below-other");
  client->send(protocol::upload_message{1, 1, 0, {make_changeset(2, "x", 1)}});
  client->expect_error(error_code::bad_client_version, 1);
  expect_session_works(*client, 2, 1);
}

// protocol.md §4.1 IDENT: with file ident 0 the salt and the last integrated client version must
// be 0 (the server version may not: see SyncServer.ANewSessionDownloadsTheHistoryAfterItsCursor).
TEST_F(ProtocolErrors, IdentRequestWithASaltOrAnUploadCursorIsRefused) {
  auto client = server_.connect();
  bind_and_ident(*client, 1, "/zero");
  expect_session_works(*client, 1, 1);  // the realm's history now holds server version 1
  client->send(protocol::bind_message{2, "/zero", ""});
  client->send(protocol::client_ident_message{2, 0, 77, 0, 0});
  client->expect_error(error_code::bad_client_file_ident, 2);
  client->send(protocol::bind_message{3, "/zero", ""});
  client->send(protocol::client_ident_message{3, 0, 0, 1, 5});
  client->expect_error(error_code::bad_progress, 3);
}

// protocol.md §4.1 UPLOAD: changesets carry origin_file_ident 0, even the uploader's own ident.
TEST_F(ProtocolErrors, ChangesetCarryingAnOriginFileIdentIsBadChangeset) {
  auto client = server_.connect();
  const auto own = bind_and_ident(*client, 1, "/origin");
  bind_and_ident(*client, 2, "/origin-other");
  auto c = make_changeset(1, "x", 1);
  c.origin_file_ident = own.ident;
  client->send(protocol::upload_message{1, 1, 0, {c}});
  client->expect_error(error_code::bad_changeset, 1);
  expect_session_works(*client, 2, 1);
}

// protocol.md §8 Session error and §5: a changeset that does not decode (an empty collection
// name) is bad_syntax for the whole connection, closed with 1002; one that decodes but breaks an
// UPLOAD rule (a server version) is the session-level bad_changeset of the diagram.
TEST_F(ProtocolErrors, EmptyCollectionNameIsBadSyntaxForTheConnection) {
  auto client = server_.connect();
  bind_and_ident(*client, 1, "/empty");
  auto c = make_changeset(5, "x", 1);
  c.instructions = {protocol::create_object{"", "x"}};
  client->send(protocol::upload_message{1, 5, 0, {c}});
  client->expect_error(error_code::bad_syntax, 0);
  EXPECT_EQ(client->wait_closed(), 1002);
}

}  // namespace
}  // namespace actorsync::testing
