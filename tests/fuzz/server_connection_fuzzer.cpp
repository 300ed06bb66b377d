// libFuzzer target for the server's per-connection state machine, over a real connection: one
// in-process sync_server for the whole run; each input becomes a sequence of WebSocket frames
// on a fresh connection, optionally after a valid BIND + IDENT so later frames reach the bound
// and identified states. A PING at the end proves the server processed everything and still
// answers (or closed the connection with an error, which is fine). A crash, sanitizer report or
// a server that neither answers nor closes within the deadline is a finding.
//
// Input layout: byte 0 bit 0 = preamble (BIND session 1 "/fuzz" + IDENT), then frames as
// [u16 little-endian length][bytes], the last one taking whatever remains.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>

#include "tests/server/scripted_client.hpp"
#include "tests/server/test_server.hpp"

namespace {

using namespace actorsync;

test::test_server& server() {
  static auto* instance = new test::test_server([](server::server_options& o) {
    o.durable = false;
    o.log_level = "off";
    o.max_frame_bytes = 64 * 1024;
    o.max_download_bytes = 16 * 1024;
    o.send_queue_bytes = 64 * 1024;
    o.max_sessions_per_connection = 16;
  });
  return *instance;
}

void send_frames(test::scripted_client& client, std::span<const std::uint8_t> rest) {
  int frames = 0;
  while (!rest.empty() && frames++ < 64) {
    std::size_t length = rest.size();
    if (rest.size() >= 2) {
      length = std::min<std::size_t>(rest[0] | (rest[1] << 8), rest.size() - 2);
      rest = rest.subspan(2);
    }
    client.send_frame(rest.first(length));
    rest = rest.subspan(length);
  }
}

// Reads until our PONG (the server processed every frame) or the server closes. Hangs abort.
void expect_answer_or_close(test::scripted_client& client, std::uint64_t stamp) {
  for (;;) {
    try {
      auto message = client.receive(std::chrono::seconds(20));
      if (auto* p = std::get_if<protocol::pong_message>(&message); p && p->timestamp == stamp)
        return;
    } catch (const std::runtime_error& e) {
      if (std::strstr(e.what(), "timed out") != nullptr) {
        std::fprintf(stderr, "server neither answered nor closed: %s\n", e.what());
        std::abort();
      }
      return;  // closed after an error: allowed
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static std::uint64_t stamp = 0;
  try {
    auto client = server().connect();
    if ((data[0] & 1) != 0) test::bind_and_ident(*client, 1, "/fuzz");
    send_frames(*client, {data + 1, size - 1});
    client->send(protocol::ping_message{++stamp});
    expect_answer_or_close(*client, stamp);
  } catch (const test::connect_failed& e) {
    std::fprintf(stderr, "the server stopped accepting connections: %s\n", e.what());
    std::abort();
  } catch (const std::runtime_error&) {
    // A write after the server closed the connection: the input ended the session early.
  }
  return 0;
}
