// Slow readers and overload against a real in-process server: a client that stops reading is
// cut off with send_queue_overflow once its queue passes the configured bound, and sessions or
// connections beyond the limits are refused with clear errors; everyone admitted keeps syncing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <optional>

#include "tests/support/raw_websocket.hpp"
#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"

namespace actorsync::testing {
namespace {

using protocol::error_code;

protocol::changeset bulky_changeset(protocol::version_type version) {
  auto c = make_changeset(version, "bulk" + std::to_string(version), 1);
  c.instructions.push_back(protocol::set_field{"items", "bulk" + std::to_string(version), "blob",
                                               std::string(8 * 1024, 'x')});
  return c;
}

// Uploads `count` bulky changesets into `session`'s realm and waits for the acknowledgement.
void upload_bulk(scripted_client& client, protocol::session_ident session,
                 protocol::version_type from, protocol::version_type count) {
  protocol::upload_message upload{session, from + count - 1, 0, {}};
  for (auto v = from; v < from + count; ++v) upload.changesets.push_back(bulky_changeset(v));
  client.send(upload);
  while (client.expect<protocol::download_message>().last_integrated_client_version <
         from + count - 1) {
  }
}

bool has_error_count(const test_server& server, const char* code, int at_least) {
  const auto text = const_cast<test_server&>(server).instance().metrics().render_prometheus();
  const auto key = std::string("actorsync_errors_total{code=\"") + code + "\"} ";
  const auto at = text.find(key);
  return at != std::string::npos && std::stoi(text.substr(at + key.size())) >= at_least;
}

TEST(SlowReader, IsCutOffWithSendQueueOverflowAndOthersKeepSyncing) {
  constexpr int realms = 16;
  test_server server([](server::server_options& o) {
    o.max_frame_bytes = 256 * 1024;
    o.send_queue_bytes = 64 * 1024;  // the bound under test
    o.max_download_bytes = 32 * 1024;
    o.send_queue_timeout = std::chrono::milliseconds(200);
    o.max_sessions_per_connection = 64;
  });
  auto writer = server.connect();
  for (int r = 0; r < realms; ++r) {
    bind_and_ident(*writer, r + 1, "/slow/r" + std::to_string(r));
    for (protocol::version_type from = 1; from <= 60; from += 20) {
      upload_bulk(*writer, r + 1, from, 20);  // 480 KiB of history per realm
    }
  }
  // The stalled reader asks for all of it (16 x 480 KiB, more than the kernel's socket buffers
  // can absorb) and never reads.
  raw_websocket stalled(server.ports().ws, make_token("mallory", {"/*"}), 4096);
  for (int r = 0; r < realms; ++r) {
    stalled.send(protocol::bind_message{static_cast<protocol::session_ident>(r + 1),
                                        "/slow/r" + std::to_string(r), ""});
    stalled.send(
        protocol::client_ident_message{static_cast<protocol::session_ident>(r + 1), 0, 0, 0, 0});
  }
  ASSERT_TRUE(eventually([&] { return has_error_count(server, "send_queue_overflow", 1); }))
      << server.instance().metrics().render_prometheus();
  const auto error = stalled.read_until_close();
  ASSERT_TRUE(error.has_value()) << "no ERROR and close frame for the stalled reader";
  EXPECT_EQ(error->code, static_cast<std::uint16_t>(error_code::send_queue_overflow));
  EXPECT_TRUE(error->try_again);

  // Everyone else: the writer keeps uploading, and a normal reader downloads a whole realm.
  upload_bulk(*writer, 1, 61, 5);
  auto reader = server.connect();
  bind_and_ident(*reader, 1, "/slow/r0");
  reader->send(protocol::client_mark_message{1, 7});
  EXPECT_EQ(changesets_until_mark(*reader), std::optional<std::size_t>(65));
  EXPECT_TRUE(eventually([&] { return server.instance().metrics().connections.load() == 2; }));
}

TEST(Overload, ConnectionsBeyondTheLimitGet503AndTheAdmittedOnesSync) {
  test_server server([](server::server_options& o) { o.max_connections = 3; });
  std::vector<std::unique_ptr<scripted_client>> admitted;
  for (int i = 0; i < 3; ++i) {
    admitted.push_back(server.connect());
    bind_and_ident(*admitted.back(), 1, "/overload/c" + std::to_string(i));
  }
  for (int i = 0; i < 5; ++i) {
    try {
      server.connect();
      FAIL() << "a fourth connection was admitted";
    } catch (const upgrade_refused& e) {
      EXPECT_EQ(e.status, 503);
      EXPECT_EQ(e.body, "too many connections");
    }
  }
  for (auto& client : admitted) {
    client->send(protocol::upload_message{1, 1, 0, {make_changeset(1, "a", 1)}});
    EXPECT_EQ(expect_acknowledgement(*client, 1).last_integrated_client_version, 1u);
  }
  // A slot freed is a slot usable again.
  admitted.pop_back();
  ASSERT_TRUE(eventually([&] { return server.instance().metrics().connections.load() == 2; }));
  auto late = server.connect();
  late->send(protocol::ping_message{9});
  EXPECT_EQ(late->expect<protocol::pong_message>().timestamp, 9u);
}

TEST(Overload, SessionsBeyondTheLimitGetTooManySessionsAndTheAdmittedOnesSync) {
  test_server server([](server::server_options& o) { o.max_sessions_per_connection = 4; });
  auto client = server.connect();
  for (protocol::session_ident s = 1; s <= 4; ++s) {
    bind_and_ident(*client, s, "/sessions/s" + std::to_string(s));
  }
  for (protocol::session_ident s = 5; s <= 20; ++s) {
    client->send(protocol::bind_message{s, "/sessions/s" + std::to_string(s), ""});
    auto error = client->expect_error(error_code::too_many_sessions, s);
    EXPECT_TRUE(error.try_again);
  }
  for (protocol::session_ident s = 1; s <= 4; ++s) {
    client->send(protocol::upload_message{s, 1, 0, {make_changeset(1, "a", 1)}});
    EXPECT_EQ(expect_acknowledgement(*client, 1).last_integrated_client_version, 1u);
  }
  // Unbinding one admits one more on the same connection.
  client->send(protocol::unbind_message{4});
  EXPECT_EQ(client->expect<protocol::unbound_message>().session, 4u);
  bind_and_ident(*client, 21, "/sessions/s21");
}

}  // namespace
}  // namespace actorsync::testing
