// libFuzzer target for the server's per-connection state machine (server/connection_actor.cpp
// and what it drives in the realm actors), over a real connection: one in-process sync_server
// for the whole run, a fresh WebSocket connection per input.
//
// The input is a script (FuzzedDataProvider): an optional preamble (BIND + IDENT of session 1
// on a realm of its own, so later frames start from a bound, identified session), then up to
// 48 steps, each one client message built from the input and sent encoded (BIND, IDENT, UPLOAD
// with changesets, MARK, UNBIND, PING), or a raw frame of input bytes, or one frame larger than
// the server's frame limit. Structured messages get past the decoder, so the fuzzer explores
// orderings, cursors, idents and tokens rather than refusals of bad msgpack
// (protocol_fuzzer covers those). A final PING must be answered, or the connection closed
// after an ERROR.
//
// Findings (abort, which libFuzzer reports with the input): a crash or sanitizer report in the
// server; a server frame the client decoder refuses; a frame after a connection-level ERROR;
// a server that neither answers nor closes within 30 s; a new connection refused; connection
// or session gauges that do not return to zero once every connection is closed.
//
// Determinism: each input binds realms of its own ("/fuzz/<n>", "/fuzz/<n>/b"), so the history
// it meets is the one it wrote. Only realm "/shared" and raw BIND frames see other inputs'
// history, and realm work that ends after the PONG (integrations, downloads) may be counted
// with the next input.
#include <fuzzer/FuzzedDataProvider.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/codec.hpp"
#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"

namespace {

using namespace actorsync;
using namespace std::chrono_literals;

constexpr std::size_t max_frame_bytes = 64 * 1024;
constexpr int max_steps = 48;
/// Only a hung server makes an input wait this long; libFuzzer's -timeout must exceed it.
constexpr auto answer_deadline = 30s;
/// Every this many inputs, check that closed connections released their gauges.
constexpr std::uint64_t gauge_check_every = 256;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "server_connection_fuzzer finding: %s\n", what.c_str());
  std::abort();
}

testing::test_server* server_instance = nullptr;

testing::test_server& server() {
  if (server_instance == nullptr) {
    // The embedded server logs through spdlog's default logger (only the binary applies
    // log_level): a line per connection would cost more than the connection itself.
    spdlog::set_level(spdlog::level::off);
    server_instance = new testing::test_server([](server::server_options& o) {
      o.durable = false;
      o.max_frame_bytes = max_frame_bytes;
      o.max_download_bytes = 16 * 1024;
      o.send_queue_bytes = 64 * 1024;
      o.max_sessions_per_connection = 8;
      o.realm_idle_timeout = 2s;  // realms of finished inputs retire instead of piling up
      o.metrics.enabled = false;
    });
    // libFuzzer ends a run with exit(): stop the server and remove its data directory then.
    std::atexit([] { delete server_instance; });
  }
  return *server_instance;
}

// Tokens the script can put in a BIND, made once.
struct tokens {
  std::string everything = testing::make_token("alice", {"/*"});
  std::string other_realm = testing::make_token("bob", {"/other"});
  std::string expired = testing::make_token("alice", {"/*"}, -10);
  std::string forged = everything.substr(0, everything.size() - 4) + "AAAA";
};

const tokens& known_tokens() {
  static const tokens t;
  return t;
}

// What one input's script knows while it builds messages.
struct script {
  FuzzedDataProvider& in;
  std::string realm;               ///< this input's own realm
  protocol::file_ident ident = 0;  ///< granted to the preamble's session, if any
  std::uint64_t salt = 0;
};

// Mostly the few idents a connection uses, sometimes any value (never bound, huge, 0).
protocol::session_ident pick_session(script& s) {
  const auto b = s.in.ConsumeIntegral<std::uint8_t>();
  return b < 248 ? b % 5 : s.in.ConsumeIntegral<std::uint64_t>();
}

// Small versions most of the time: cursors that line up, go backwards or run ahead.
std::uint64_t pick_version(script& s) {
  const auto b = s.in.ConsumeIntegral<std::uint8_t>();
  return b < 240 ? b % 12 : s.in.ConsumeIntegral<std::uint64_t>();
}

std::string pick_realm(script& s) {
  switch (s.in.ConsumeIntegralInRange(0, 5)) {
    case 0:
    case 1:
      return s.realm;
    case 2:
      return s.realm + "/b";
    case 3:
      return "/shared";
    case 4:
      return s.realm + "/../x";  // illegal path
    default:
      return s.in.ConsumeRandomLengthString(48);
  }
}

std::string pick_token(script& s) {
  const auto& t = known_tokens();
  switch (s.in.ConsumeIntegralInRange(0, 5)) {
    case 0:
    case 1:
      return {};  // the upgrade's token
    case 2:
      return t.everything;
    case 3:
      return t.other_realm;
    case 4:
      return t.expired;
    default:
      return s.in.ConsumeBool() ? t.forged : s.in.ConsumeRandomLengthString(32);
  }
}

// Names from a small set (so instructions touch the same objects), sometimes empty or raw.
std::string pick_name(script& s) {
  static const char* const names[] = {"items", "tasks", "a", "b", "value", "n"};
  const auto b = s.in.ConsumeIntegral<std::uint8_t>();
  if (b < 240) return names[b % std::size(names)];
  return b < 248 ? std::string() : s.in.ConsumeRandomLengthString(16);
}

protocol::value pick_value(script& s) {
  switch (s.in.ConsumeIntegralInRange(0, 5)) {
    case 0:
      return std::monostate{};
    case 1:
      return s.in.ConsumeBool();
    case 2:
      return s.in.ConsumeIntegral<std::int64_t>();
    case 3:
      return s.in.ConsumeFloatingPoint<double>();
    case 4:
      return s.in.ConsumeRandomLengthString(64);
    default: {
      auto bytes = s.in.ConsumeBytes<std::uint8_t>(s.in.ConsumeIntegralInRange(0, 64));
      return protocol::binary(bytes.begin(), bytes.end());
    }
  }
}

protocol::instruction pick_instruction(script& s) {
  auto collection = pick_name(s);
  auto object = pick_name(s);
  switch (s.in.ConsumeIntegralInRange(0, 3)) {
    case 0:
      return protocol::create_object{std::move(collection), std::move(object)};
    case 1:
      return protocol::erase_object{std::move(collection), std::move(object)};
    case 2: {
      auto field = pick_name(s);
      return protocol::set_field{std::move(collection), std::move(object), std::move(field),
                                 pick_value(s)};
    }
    default: {
      auto field = pick_name(s);
      return protocol::add_integer{std::move(collection), std::move(object), std::move(field),
                                   s.in.ConsumeIntegral<std::int64_t>()};
    }
  }
}

protocol::changeset pick_changeset(script& s) {
  protocol::changeset c;
  c.client_version = pick_version(s);
  c.last_integrated_server_version = pick_version(s);
  // Clients send 0 for both; anything else must be refused.
  if (s.in.ConsumeIntegral<std::uint8_t>() >= 240) c.server_version = pick_version(s);
  if (s.in.ConsumeIntegral<std::uint8_t>() >= 240) c.origin_file_ident = pick_version(s);
  c.origin_timestamp = 1700000000000 + s.in.ConsumeIntegral<std::uint16_t>();
  const int count = s.in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < count; ++i) c.instructions.push_back(pick_instruction(s));
  return c;
}

protocol::client_message pick_ident(script& s) {
  protocol::client_ident_message m;
  m.session = pick_session(s);
  switch (s.in.ConsumeIntegralInRange(0, 3)) {
    case 0:  // ask for a new ident
      break;
    case 1:  // the preamble's ident (valid in this input's realm only)
      m.client_file_ident = s.ident;
      m.file_ident_salt = s.salt;
      break;
    case 2:  // right ident, wrong salt
      m.client_file_ident = s.ident;
      m.file_ident_salt = s.salt + 1;
      break;
    default:
      m.client_file_ident = pick_version(s);
      m.file_ident_salt = s.in.ConsumeIntegral<std::uint64_t>();
  }
  m.server_version = pick_version(s);
  m.last_integrated_client_version = pick_version(s);
  return m;
}

protocol::client_message pick_upload(script& s) {
  protocol::upload_message m;
  m.session = pick_session(s);
  m.client_version = pick_version(s);
  m.last_integrated_server_version = pick_version(s);
  const int count = s.in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < count; ++i) m.changesets.push_back(pick_changeset(s));
  return m;
}

protocol::byte_buffer encoded(const protocol::client_message& message) {
  protocol::byte_buffer frame;
  protocol::encode(message, frame);
  return frame;
}

// One step of the script: the frame to send next.
protocol::byte_buffer next_frame(script& s) {
  switch (s.in.ConsumeIntegralInRange(0, 15)) {
    case 0:
    case 1:
      return encoded(protocol::bind_message{pick_session(s), pick_realm(s), pick_token(s)});
    case 2:
    case 3:
      return encoded(pick_ident(s));
    case 4:
    case 5:
    case 6:
    case 7:
      return encoded(pick_upload(s));
    case 8:
    case 9:
      return encoded(protocol::client_mark_message{pick_session(s), pick_version(s)});
    case 10:
    case 11:
      return encoded(protocol::unbind_message{pick_session(s)});
    case 12:
      return encoded(protocol::ping_message{s.in.ConsumeIntegral<std::uint64_t>()});
    case 13:
      if (s.in.ConsumeIntegral<std::uint8_t>() == 0) {
        return protocol::byte_buffer(max_frame_bytes + 1, 0x90);  // over the server's limit
      }
      [[fallthrough]];
    default: {
      auto raw = s.in.ConsumeRandomLengthString(256);
      return protocol::byte_buffer(raw.begin(), raw.end());
    }
  }
}

// Reads until our PONG (every frame was processed) or the server closes. After an ERROR
// naming no session (connection level) only the close may follow.
void expect_answer_or_close(testing::scripted_client& client, std::uint64_t stamp) {
  bool connection_error = false;
  for (;;) {
    protocol::server_message message;
    try {
      message = client.receive(answer_deadline);
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      if (what.find("timed out") != std::string::npos) {
        finding("the server neither answered the final PING nor closed: " + what);
      }
      if (what.find("undecodable") != std::string::npos) finding(what);
      return;  // closed (after an ERROR, or while we were writing): allowed
    }
    if (connection_error) {
      finding("a frame after a connection-level ERROR: " +
              testing::scripted_client::describe(message));
    }
    if (auto* e = std::get_if<protocol::error_message>(&message); e && e->session == 0) {
      connection_error = true;
    }
    if (auto* p = std::get_if<protocol::pong_message>(&message); p && p->timestamp == stamp) {
      return;
    }
  }
}

// Every connection closed: the server's gauges must say so (a leaked session or connection
// actor would keep them up).
void check_gauges_return_to_zero() {
  const auto& metrics = server().instance().metrics();
  if (!testing::eventually(
          [&] { return metrics.connections.load() == 0 && metrics.sessions.load() == 0; }, 60s)) {
    finding("gauges stay up with no connection open: connections=" +
            std::to_string(metrics.connections.load()) +
            " sessions=" + std::to_string(metrics.sessions.load()));
  }
}

void run(FuzzedDataProvider& in, std::uint64_t number) {
  script s{in, "/fuzz/" + std::to_string(number)};
  std::unique_ptr<testing::scripted_client> client;
  try {
    client = testing::scripted_client::connect(server().client(known_tokens().everything));
  } catch (const std::exception& e) {
    finding(std::string("the server refused a new connection: ") + e.what());
  }
  try {
    if (in.ConsumeBool()) {
      const auto bound = testing::bind_and_ident(*client, 1, s.realm);
      s.ident = bound.ident;
      s.salt = bound.salt;
    }
  } catch (const std::exception& e) {
    finding(std::string("a valid BIND + IDENT failed: ") + e.what());
  }
  try {
    for (int step = 0; step < max_steps && in.remaining_bytes() > 0; ++step) {
      client->send_frame(next_frame(s));
    }
    client->send(protocol::ping_message{number});
  } catch (const std::runtime_error& e) {
    // Our frames are far smaller than the socket buffers: a write can only time out if the
    // server stops reading without closing.
    if (std::strstr(e.what(), "timed out") != nullptr) finding(e.what());
    // Otherwise the server closed the connection after an ERROR while we were still writing;
    // the frames it did send are still checked below.
  }
  expect_answer_or_close(*client, number);
}

}  // namespace

// LeakSanitizer at exit: OpenSSL keeps an error-state block per thread that used it (token
// HMACs, salts) and does not free those of the server's exited threads. Allocations made inside
// libcrypto are ignored; everything else is still checked.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libcrypto.so\n";
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::uint64_t inputs = 0;
  ++inputs;
  FuzzedDataProvider in(data, size);
  run(in, inputs);
  if (inputs % gauge_check_every == 0) check_gauges_return_to_zero();
  return 0;
}
