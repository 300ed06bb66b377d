// The sync server end to end: a real server on 127.0.0.1 (ephemeral ports, RocksDB in a
// temporary directory) driven by scripted clients.
#include <actorsync/server/sync_server.hpp>

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"

namespace actorsync::testing {
namespace {

using protocol::error_code;

// Receives DOWNLOADs for `session` until its cursor reaches `server_version`; returns the
// changesets they carried.
std::vector<protocol::changeset> download_until(scripted_client& client,
                                                protocol::session_ident session,
                                                protocol::version_type server_version) {
  std::vector<protocol::changeset> received;
  protocol::version_type cursor = 0;
  while (cursor < server_version) {
    auto d = client.expect<protocol::download_message>();
    EXPECT_EQ(d.session, session);
    cursor = d.server_version;
    for (auto& c : d.changesets) received.push_back(std::move(c));
  }
  return received;
}

// Uploads changesets [first, last] and waits for the acknowledgement covering `last`.
protocol::download_message upload_and_ack(scripted_client& client, protocol::session_ident session,
                                          protocol::version_type first,
                                          protocol::version_type last) {
  protocol::upload_message upload{session, last, 0, {}};
  for (auto v = first; v <= last; ++v)
    upload.changesets.push_back(
        make_changeset(v, "obj" + std::to_string(v), static_cast<std::int64_t>(v)));
  client.send(upload);
  return expect_acknowledgement(client, last);
}

TEST(SyncServer, StartReportsEphemeralPorts) {
  test_server server;
  EXPECT_NE(server.ports().ws, 0);
  EXPECT_NE(server.ports().metrics, 0);
  EXPECT_EQ(server.ports().wss, 0);
}

TEST(SyncServer, BindAllocatesAFileIdentAndAnUploadIsAcknowledged) {
  test_server server;
  auto client = server.connect();
  auto bound = bind_and_ident(*client, 1, "/orders");
  EXPECT_GT(bound.ident, 0u);
  auto ack = upload_and_ack(*client, 1, 1, 2);
  EXPECT_EQ(ack.last_integrated_client_version, 2u);
  EXPECT_EQ(ack.server_version, 2u);
  EXPECT_TRUE(ack.changesets.empty()) << "a session never downloads its own changesets";
}

// protocol.md §6: the client's download progress needs the server's figure for this binding.
TEST(SyncServer, EveryIdentIsFollowedByADownloadEvenWhenNothingIsOwed) {
  test_server server;
  auto client = server.connect();
  bind_and_ident(*client, 1, "/quiet");
  auto first = client->expect<protocol::download_message>();
  EXPECT_EQ(first.session, 1u);
  EXPECT_EQ(first.server_version, 0u);
  EXPECT_EQ(first.downloadable_bytes, 0u);
  EXPECT_TRUE(first.changesets.empty());
}

TEST(SyncServer, TwoClientsOfOneRealmGetDistinctFileIdents) {
  test_server server;
  auto a = server.connect();
  auto b = server.connect();
  auto first = bind_and_ident(*a, 1, "/shared");
  auto second = bind_and_ident(*b, 1, "/shared");
  EXPECT_NE(first.ident, second.ident);
}

TEST(SyncServer, UploadIsDownloadedByABoundSessionOnAnotherConnection) {
  test_server server;
  auto writer = server.connect();
  auto reader = server.connect();
  bind_and_ident(*writer, 1, "/live");
  bind_and_ident(*reader, 7, "/live");
  upload_and_ack(*writer, 1, 1, 3);
  auto received = download_until(*reader, 7, 3);
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0].client_version, 1u);
  EXPECT_EQ(received[2].server_version, 3u);
  EXPECT_NE(received[0].origin_file_ident, 0u);
  EXPECT_EQ(received[1].instructions, make_changeset(2, "obj2", 2).instructions);
}

TEST(SyncServer, ANewSessionDownloadsTheHistoryAfterItsCursor) {
  test_server server;
  auto writer = server.connect();
  bind_and_ident(*writer, 1, "/history");
  upload_and_ack(*writer, 1, 1, 5);
  auto late = server.connect();
  late->send(protocol::bind_message{3, "/history", ""});
  late->send(protocol::client_ident_message{3, 0, 0, 2, 0});  // already has versions 1..2
  late->expect<protocol::server_ident_message>();
  auto received = download_until(*late, 3, 5);
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received.front().server_version, 3u);
}

TEST(SyncServer, MarkIsAnsweredAfterEverythingTheHistoryHeldWasSent) {
  test_server server;
  auto writer = server.connect();
  bind_and_ident(*writer, 1, "/marks");
  upload_and_ack(*writer, 1, 1, 4);
  auto reader = server.connect();
  reader->send(protocol::bind_message{2, "/marks", ""});
  reader->send(protocol::client_ident_message{2, 0, 0, 0, 0});
  reader->send(protocol::client_mark_message{2, 42});
  reader->expect<protocol::server_ident_message>();
  protocol::version_type cursor = 0;
  for (;;) {
    auto message = reader->receive();
    if (auto* d = std::get_if<protocol::download_message>(&message)) {
      cursor = d->server_version;
      continue;
    }
    auto* mark = std::get_if<protocol::server_mark_message>(&message);
    ASSERT_NE(mark, nullptr) << scripted_client::describe(message);
    EXPECT_EQ(mark->request, 42u);
    EXPECT_EQ(cursor, 4u) << "MARK arrived before the history it covers";
    break;
  }
}

TEST(SyncServer, UnbindIsAnsweredWithUnboundAndLaterMessagesAreIgnored) {
  test_server server;
  auto client = server.connect();
  bind_and_ident(*client, 5, "/bye");
  client->send(protocol::unbind_message{5});
  EXPECT_EQ(client->expect<protocol::unbound_message>().session, 5u);
  client->send(protocol::client_mark_message{5, 1});  // bound then unbound: ignored
  client->send(protocol::ping_message{123});
  EXPECT_EQ(client->expect<protocol::pong_message>().timestamp, 123u);
  // The ident may be bound again.
  bind_and_ident(*client, 5, "/bye");
}

TEST(SyncServer, PingIsAnsweredWithPongEchoingTheTimestamp) {
  test_server server;
  auto client = server.connect();
  client->send(protocol::ping_message{987654321});
  EXPECT_EQ(client->expect<protocol::pong_message>().timestamp, 987654321u);
}

// The link reads ahead of the connection actor and writes queued frames back to back: a burst
// of requests sent without waiting is answered completely and in order.
TEST(SyncServer, ABurstOfPipelinedFramesIsAnsweredInOrder) {
  test_server server;
  auto client = server.connect();
  constexpr std::uint64_t burst = 200;
  for (std::uint64_t i = 1; i <= burst; ++i) client->send(protocol::ping_message{i});
  for (std::uint64_t i = 1; i <= burst; ++i)
    ASSERT_EQ(client->expect<protocol::pong_message>().timestamp, i);
}

TEST(SyncServer, ReuploadAfterReconnectIsIntegratedOnce) {
  test_server server;
  bound_session first;
  {
    auto client = server.connect();
    first = bind_and_ident(*client, 1, "/again");
    upload_and_ack(*client, 1, 1, 2);
  }
  {
    // Reconnect as the same client file; the acknowledgement was "lost", so upload again.
    auto client = server.connect();
    client->send(protocol::bind_message{1, "/again", ""});
    client->send(protocol::client_ident_message{1, first.ident, first.salt, 0, 0});
    auto ack = client->expect<protocol::download_message>();
    EXPECT_EQ(ack.last_integrated_client_version, 2u);
    EXPECT_TRUE(ack.changesets.empty());
    protocol::upload_message upload{
        1, 2, 0, {make_changeset(1, "obj1", 1), make_changeset(2, "obj2", 2)}};
    client->send(upload);
    client->send(protocol::client_mark_message{1, 9});
    EXPECT_EQ(client->expect<protocol::server_mark_message>().request, 9u);
  }
  auto reader = server.connect();
  bind_and_ident(*reader, 1, "/again");
  reader->send(protocol::client_mark_message{1, 1});
  std::size_t changesets = 0;
  for (;;) {
    auto message = reader->receive();
    if (auto* d = std::get_if<protocol::download_message>(&message)) {
      changesets += d->changesets.size();
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<protocol::server_mark_message>(message));
    break;
  }
  EXPECT_EQ(changesets, 2u);
  EXPECT_EQ(server.instance().metrics().changesets_integrated.load(), 2u);
}

TEST(SyncServer, RestartKeepsEveryAcknowledgedChangeset) {
  test_server server;
  {
    auto client = server.connect();
    bind_and_ident(*client, 1, "/durable");
    upload_and_ack(*client, 1, 1, 3);
  }
  server.restart();
  auto reader = server.connect();
  bind_and_ident(*reader, 1, "/durable");
  EXPECT_EQ(download_until(*reader, 1, 3).size(), 3u);
}

// protocol.md §1: the URL path is deployment configuration; the server upgrades on any path.
TEST(SyncServer, TheUpgradeIsAcceptedOnAnyPath) {
  test_server server;
  for (const auto* path : {"/", "/sync", "/deploy/eu-1/actorsync?tenant=acme"}) {
    SCOPED_TRACE(path);
    auto options = server.client(make_token("alice", {"/*"}));
    options.path = path;
    auto client = scripted_client::connect(options);
    bind_and_ident(*client, 1, "/path");
  }
}

// protocol.md §1 Closing: 1001 after going_away.
TEST(SyncServer, StopSendsGoingAwayAndClosesWith1001) {
  test_server server;
  auto client = server.connect();
  bind_and_ident(*client, 1, "/stop");
  // stop() waits for the close handshake, so the client reads on this thread meanwhile.
  std::thread stopper([&] { server.instance().stop(); });
  client->expect_error(error_code::going_away, 0);
  EXPECT_EQ(client->wait_closed(), 1001);
  stopper.join();
}

TEST(SyncServer, AnIdleRealmActorStopsAndARealmComesBackWithItsHistory) {
  test_server server(
      [](server::server_options& o) { o.realm_idle_timeout = std::chrono::milliseconds(50); });
  {
    auto client = server.connect();
    bind_and_ident(*client, 1, "/idle");
    upload_and_ack(*client, 1, 1, 1);
    client->send(protocol::unbind_message{1});
    client->expect<protocol::unbound_message>();
  }
  // The realm actor retires on its own; the gauge is the observable condition.
  ASSERT_TRUE(eventually([&] { return server.instance().metrics().active_realms.load() == 0; }));
  auto reader = server.connect();
  bind_and_ident(*reader, 1, "/idle");
  EXPECT_EQ(download_until(*reader, 1, 1).size(), 1u);
}

}  // namespace
}  // namespace actorsync::testing

namespace actorsync::testing {
namespace {

TEST(SyncServer, AClientThatStopsReadingIsDisconnectedWithSendQueueOverflow) {
  test_server server([](server::server_options& o) {
    o.max_frame_bytes = 64 * 1024;
    o.max_download_bytes = 16 * 1024;
    o.send_queue_bytes = 16 * 1024;
    o.send_queue_timeout = std::chrono::milliseconds(100);
  });
  // 400 KB of history in one realm.
  auto writer = server.connect();
  bind_and_ident(*writer, 1, "/big");
  for (protocol::version_type v = 1; v <= 40; ++v) {
    auto c = make_changeset(v, "o" + std::to_string(v), 1);
    c.instructions.push_back(protocol::set_field{"items", "o", "blob", std::string(10000, 'b')});
    writer->send(protocol::upload_message{1, v, 0, {c}});
  }
  while (writer->expect<protocol::download_message>().last_integrated_client_version < 40) {
  }
  // A client binds 100 sessions to it and never reads: far more than the socket buffers hold.
  auto slow = server.connect();
  for (protocol::session_ident s = 1; s <= 100; ++s) {
    slow->send(protocol::bind_message{s, "/big", ""});
    slow->send(protocol::client_ident_message{s, 0, 0, 0, 0});
  }
  const auto overflowed = [&] {
    return server.instance().metrics().render_prometheus().find(
               "actorsync_errors_total{code=\"send_queue_overflow\"} 1") != std::string::npos;
  };
  ASSERT_TRUE(eventually(overflowed));
  // The slow connection ends (after what the socket buffers held) with close code 1008
  // (protocol.md §1 Closing); the server goes on.
  EXPECT_EQ(slow->wait_closed(), 1008);
  auto other = server.connect();
  bind_and_ident(*other, 1, "/other");
  other->send(protocol::ping_message{3});
  EXPECT_EQ(other->expect<protocol::pong_message>().timestamp, 3u);
}

}  // namespace
}  // namespace actorsync::testing
