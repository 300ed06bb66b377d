// One table of hostile inputs against a real in-process server (ws:// and wss://). Each row says
// what is sent, the typed refusal expected (ERROR code and level, HTTP status, or a client-side
// TLS refusal) and, after every row, the server must still serve: a session on another
// connection syncs, and after a session-level error the same connection's other session too.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"

namespace actorsync::testing {
namespace {

using protocol::error_code;
using bytes = std::vector<std::uint8_t>;

bytes encoded(const protocol::client_message& message) {
  protocol::byte_buffer frame;
  protocol::encode(message, frame);
  return {frame.begin(), frame.end()};
}

// ---- what a row expects ---------------------------------------------------------------------

enum class refusal {
  connection_error,  ///< ERROR(code, session 0), then the server closes the WebSocket
  session_error,     ///< ERROR(code, session 2); the connection and its session 1 go on
};

struct protocol_row {
  const char* input;
  refusal level;
  error_code code;
  /// Sends the hostile input on a connection whose session 1 is bound and identified.
  std::function<void(scripted_client&)> send;
  std::uint16_t close_code = 1002;  ///< for connection errors
};

protocol::upload_message upload_of(protocol::changeset c) {
  const auto version = c.client_version;
  return {2, version, 0, {std::move(c)}};
}

void bind_only(scripted_client& c, const std::string& path) {
  c.send(protocol::bind_message{2, path, ""});
}

void bind_ident(scripted_client& c, const std::string& path) {
  bind_and_ident(c, 2, path);
}

protocol::changeset bad_instruction(protocol::instruction in) {
  auto c = make_changeset(1, "x", 1);
  c.instructions = {std::move(in)};
  return c;
}

std::vector<protocol_row> protocol_rows() {
  std::vector<protocol_row> rows;
  // -- frames that are not messages: connection level --
  rows.push_back(
      {"garbage bytes", refusal::connection_error, error_code::bad_syntax, [](scripted_client& c) {
         c.send_frame(bytes{0xc1, 0xff, 0x00, 0x13, 0x37});
       }});
  rows.push_back({"empty frame", refusal::connection_error, error_code::bad_syntax,
                  [](scripted_client& c) { c.send_frame(bytes{}); }});
  rows.push_back({"truncated UPLOAD frame", refusal::connection_error, error_code::bad_syntax,
                  [](scripted_client& c) {
                    auto frame = encoded(
                        protocol::upload_message{1, 1, 0, {make_changeset(1, "truncated", 7)}});
                    frame.resize(frame.size() / 2);
                    c.send_frame(frame);
                  }});
  rows.push_back({"valid message followed by trailing bytes", refusal::connection_error,
                  error_code::bad_syntax, [](scripted_client& c) {
                    auto frame = encoded(protocol::ping_message{1});
                    frame.push_back(0x00);
                    c.send_frame(frame);
                  }});
  rows.push_back({"frame above max_frame_bytes", refusal::connection_error,
                  error_code::limits_exceeded,
                  [](scripted_client& c) { c.send_frame(bytes(100 * 1024, 0x90)); }, 1009});
  rows.push_back({"unknown message type 99", refusal::connection_error, error_code::unknown_message,
                  [](scripted_client& c) {
                    c.send_frame(bytes{0x92, 99, 0x01});
                  }});
  rows.push_back({"a server-to-client type (ERROR) sent by the client", refusal::connection_error,
                  error_code::unknown_message, [](scripted_client& c) {
                    c.send_frame(bytes{0x92, 21, 0x01});
                  }});
  // The decoder is schema-driven: it refuses the first element of the wrong type and never
  // descends into unexpected nesting, so a bomb costs one byte of parsing.
  rows.push_back({"nesting bomb: 60,000 nested arrays", refusal::connection_error,
                  error_code::bad_syntax, [](scripted_client& c) {
                    bytes frame(60000, 0x91);  // below max_frame_bytes
                    frame.push_back(0x01);
                    c.send_frame(frame);
                  }});
  rows.push_back({"UPLOAD declaring 4 billion changesets (allocation bomb)",
                  refusal::connection_error, error_code::limits_exceeded,
                  [](scripted_client& c) {
                    // [3, session 1, progress 1, 0, array32(0xffffffff)] and no elements.
                    c.send_frame(bytes{0x95, 3, 1, 1, 0, 0xdd, 0xff, 0xff, 0xff, 0xff});
                  },
                  1009});
  rows.push_back({"message for a session ident never bound", refusal::connection_error,
                  error_code::bad_session_ident, [](scripted_client& c) {
                    c.send(protocol::client_mark_message{77, 1});
                  }});
  rows.push_back({"BIND twice with a live session ident", refusal::connection_error,
                  error_code::reuse_of_session_ident, [](scripted_client& c) {
                    c.send(protocol::bind_message{1, "/hostile/again", ""});
                  }});
  // -- messages out of order or lying about state: session level --
  rows.push_back({"UPLOAD before IDENT", refusal::session_error, error_code::session_message_order,
                  [](scripted_client& c) {
                    bind_only(c, "/hostile/order");
                    c.send(upload_of(make_changeset(1, "x", 1)));
                  }});
  rows.push_back({"MARK before IDENT", refusal::session_error, error_code::session_message_order,
                  [](scripted_client& c) {
                    bind_only(c, "/hostile/mark");
                    c.send(protocol::client_mark_message{2, 1});
                  }});
  rows.push_back({"IDENT twice", refusal::session_error, error_code::session_message_order,
                  [](scripted_client& c) {
                    bind_ident(c, "/hostile/ident-twice");
                    c.send(protocol::client_ident_message{2, 0, 0, 0, 0});
                  }});
  rows.push_back({"upload cursor going backwards", refusal::session_error, error_code::bad_progress,
                  [](scripted_client& c) {
                    bind_ident(c, "/hostile/backwards");
                    c.send(protocol::upload_message{2, 5, 0, {}});
                    c.send(protocol::upload_message{2, 3, 0, {}});
                  }});
  rows.push_back({"download cursor beyond the history", refusal::session_error,
                  error_code::bad_server_version, [](scripted_client& c) {
                    bind_only(c, "/hostile/future");
                    c.send(protocol::client_ident_message{2, 0, 0, 1000, 0});
                  }});
  rows.push_back({"forged client file ident (real ident, wrong salt)", refusal::session_error,
                  error_code::bad_client_file_ident, [](scripted_client& c) {
                    auto real = bind_and_ident(c, 3, "/hostile/forged");
                    bind_only(c, "/hostile/forged");
                    c.send(protocol::client_ident_message{2, real.ident, real.salt + 1, 0, 0});
                  }});
  rows.push_back({"client file ident never allocated", refusal::session_error,
                  error_code::bad_client_file_ident, [](scripted_client& c) {
                    bind_only(c, "/hostile/never");
                    c.send(protocol::client_ident_message{2, 999, 12345, 0, 0});
                  }});
  rows.push_back({"changeset carrying a server version", refusal::session_error,
                  error_code::bad_changeset, [](scripted_client& c) {
                    bind_ident(c, "/hostile/server-version");
                    auto cs = make_changeset(1, "x", 1);
                    cs.server_version = 9;
                    c.send(upload_of(cs));
                  }});
  // The decoder validates changeset structure, so this one is refused as a frame.
  rows.push_back({"changeset with client version 0", refusal::connection_error,
                  error_code::bad_syntax, [](scripted_client& c) {
                    bind_ident(c, "/hostile/version-zero");
                    auto cs = make_changeset(1, "x", 1);
                    cs.client_version = 0;
                    c.send(protocol::upload_message{2, 0, 0, {cs}});
                  }});
  rows.push_back({"instruction with an empty collection name", refusal::connection_error,
                  error_code::bad_syntax, [](scripted_client& c) {
                    bind_ident(c, "/hostile/empty-name");
                    c.send(upload_of(bad_instruction(protocol::create_object{"", "x"})));
                  }});
  rows.push_back({"instruction with an empty field name", refusal::connection_error,
                  error_code::bad_syntax, [](scripted_client& c) {
                    bind_ident(c, "/hostile/empty-field");
                    c.send(upload_of(bad_instruction(protocol::add_integer{"items", "x", "", 1})));
                  }});
  rows.push_back({"changeset client versions not increasing", refusal::session_error,
                  error_code::bad_client_version, [](scripted_client& c) {
                    bind_ident(c, "/hostile/versions");
                    c.send(protocol::upload_message{
                        2, 2, 0, {make_changeset(2, "a", 1), make_changeset(1, "b", 1)}});
                  }});
  rows.push_back({"realm path escaping with '..'", refusal::session_error,
                  error_code::illegal_realm_path,
                  [](scripted_client& c) { bind_only(c, "/hostile/../etc"); }});
  rows.push_back({"realm path with a NUL byte", refusal::session_error,
                  error_code::illegal_realm_path,
                  [](scripted_client& c) { bind_only(c, std::string("/hostile/nul\0x", 14)); }});
  // -- tokens on BIND: session level --
  rows.push_back(
      {"BIND token for another realm", refusal::session_error, error_code::permission_denied,
       [](scripted_client& c) {
         c.send(protocol::bind_message{2, "/private/bob", make_token("alice", {"/private/alice"})});
       }});
  rows.push_back(
      {"expired BIND token", refusal::session_error, error_code::token_expired,
       [](scripted_client& c) {
         c.send(protocol::bind_message{2, "/hostile/expired", make_token("alice", {"/*"}, -60)});
       }});
  rows.push_back({"forged BIND token (signed with another secret)", refusal::session_error,
                  error_code::bad_authentication, [](scripted_client& c) {
                    server::token_claims claims{"mallory", {"/*"}, server::unix_now() + 3600};
                    auto forged = server::issue_token(
                        server::token_secret("not-the-server-secret-0123456789"), claims);
                    c.send(protocol::bind_message{2, "/hostile/forged-token", forged});
                  }});
  rows.push_back({"malformed BIND token", refusal::session_error, error_code::bad_authentication,
                  [](scripted_client& c) {
                    c.send(protocol::bind_message{2, "/hostile/malformed", "not.a-token"});
                  }});
  return rows;
}

// ---- the server under attack ----------------------------------------------------------------

// A session keeps working: an upload is acknowledged.
void expect_session_works(scripted_client& client, protocol::session_ident session,
                          protocol::version_type version) {
  client.send(protocol::upload_message{session, version, 0, {make_changeset(version, "k", 1)}});
  for (;;) {
    auto message = client.receive();
    auto* d = std::get_if<protocol::download_message>(&message);
    ASSERT_NE(d, nullptr) << scripted_client::describe(message);
    if (d->session == session && d->last_integrated_client_version >= version) return;
  }
}

class HostileInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new test_certificates(); }
  static void TearDownTestSuite() { delete certs_; }

  void SetUp() override {
    bystander_ = server_.connect();
    bind_and_ident(*bystander_, 1, "/bystander");
  }

  // Another connection keeps syncing, and a brand-new connection can start a session.
  void expect_others_served() {
    expect_session_works(*bystander_, 1, ++bystander_version_);
    auto fresh = server_.connect();
    bind_and_ident(*fresh, 1, "/fresh-" + std::to_string(bystander_version_));
    expect_session_works(*fresh, 1, 1);
  }

  client_options wss(const std::string& ca, const std::string& host = "127.0.0.1") const {
    auto options = server_.client(make_token("alice", {"/*"}));
    options.port = server_.ports().wss;
    options.tls = true;
    options.ca_file = ca;
    options.host = host;
    return options;
  }

  static test_certificates* certs_;
  test_server server_{[](server::server_options& o) {
    o.max_frame_bytes = 64 * 1024;
    o.max_download_bytes = 16 * 1024;
    o.send_queue_bytes = 64 * 1024;
    o.max_sessions_per_connection = 8;
    o.wss = {true, "127.0.0.1", 0};
    o.tls_certificate_file = certs_->certificate().string();
    o.tls_private_key_file = certs_->key().string();
  }};
  std::unique_ptr<scripted_client> bystander_;
  protocol::version_type bystander_version_ = 0;
};

test_certificates* HostileInput::certs_ = nullptr;

TEST_F(HostileInput, EveryProtocolRowGetsItsTypedErrorAndTheServerKeepsServing) {
  int row_number = 0;
  for (const auto& row : protocol_rows()) {
    SCOPED_TRACE(row.input);
    try {
      auto client = server_.connect();
      bind_and_ident(*client, 1, "/row-" + std::to_string(++row_number));
      row.send(*client);
      if (row.level == refusal::connection_error) {
        auto error = client->expect_error(row.code, 0);
        EXPECT_FALSE(error.try_again);
        EXPECT_EQ(client->wait_closed(), row.close_code);
      } else {
        client->expect_error(row.code, 2);
        expect_session_works(*client, 1, 1);
      }
      expect_others_served();
    } catch (const std::exception& e) {
      ADD_FAILURE() << row.input << ": " << e.what();
    }
    if (HasFailure()) return;  // one clear failure, not a cascade
  }
  EXPECT_GE(row_number, 25);
}

// ---- refusals before any message: the upgrade ------------------------------------------------

TEST_F(HostileInput, BadUpgradesAreRefusedWithAnHttpStatus) {
  struct row {
    const char* input;
    std::function<void(client_options&)> adjust;
    int status;
  };
  const std::vector<row> rows{
      {"missing token", [](client_options& o) { o.token.reset(); }, 401},
      {"expired token", [](client_options& o) { o.token = make_token("alice", {"/*"}, -60); }, 401},
      {"forged token",
       [](client_options& o) {
         server::token_claims claims{"mallory", {"/*"}, server::unix_now() + 3600};
         o.token =
             server::issue_token(server::token_secret("not-the-server-secret-0123456789"), claims);
       },
       401},
      {"token with a swapped payload",
       [](client_options& o) {
         auto alice = make_token("alice", {"/alice"});
         auto root = make_token("root", {"/*"});
         o.token = root.substr(0, root.rfind('.')) + alice.substr(alice.rfind('.'));  // JWT: claims
       },
       401},
      {"malformed token", [](client_options& o) { o.token = "%%%"; }, 401},
      {"Basic instead of Bearer", [](client_options& o) { o.raw_authorization = "Basic Zm9v"; },
       401},
      {"wrong subprotocol", [](client_options& o) { o.subprotocol = "actorsync.v0"; }, 400},
      {"no subprotocol", [](client_options& o) { o.subprotocol.clear(); }, 400},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.input);
    auto options = server_.client(make_token("alice", {"/*"}));
    r.adjust(options);
    EXPECT_EQ(upgrade_status(options), r.status);
    expect_others_served();
  }
}

// ---- transport-level hostility --------------------------------------------------------------

// Writes `payload` on a raw TCP connection and reads until the server closes it. Returns what
// the server sent; throws if it never closes (SO_RCVTIMEO bounds each read generously).
std::string raw_tcp_exchange(std::uint16_t port, const std::string& payload) {
  const int fd = connect_raw(port);
  (void)::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
  std::string received;
  char buffer[4096];
  for (;;) {
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      received.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    const bool closed = n == 0 || errno == ECONNRESET;
    ::close(fd);
    if (!closed) throw std::runtime_error("the server did not close a hostile raw connection");
    return received;
  }
}

std::string garbage(std::size_t size) {
  std::string g(size, '\0');
  for (std::size_t i = 0; i < size; ++i) g[i] = static_cast<char>((i * 131 + 7) & 0xff);
  return g;
}

TEST_F(HostileInput, PlainTcpGarbageIsClosedOnBothPorts) {
  const std::vector<std::pair<const char*, std::string>> payloads{
      {"binary garbage", garbage(8192)},
      {"an HTTP request that is not an upgrade", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"a header line of 1 MiB", "GET / HTTP/1.1\r\nX: " + std::string(1 << 20, 'a') + "\r\n"},
  };
  for (const auto& [what, payload] : payloads) {
    SCOPED_TRACE(what);
    auto ws_reply = raw_tcp_exchange(server_.ports().ws, payload);
    EXPECT_EQ(ws_reply.find("HTTP/1.1 101"), std::string::npos);
    auto wss_reply = raw_tcp_exchange(server_.ports().wss, payload);
    EXPECT_EQ(wss_reply.find("HTTP/1.1"), std::string::npos) << "plain HTTP answered on TLS";
    expect_others_served();
  }
}

TEST_F(HostileInput, PlainWebSocketToTheTlsPortFails) {
  auto options = wss("");
  options.tls = false;
  EXPECT_THROW(scripted_client::connect(options), connect_failed);
  expect_others_served();
}

TEST_F(HostileInput, ClientRefusesAnUntrustedCertificate) {
  test_certificates other_ca;
  EXPECT_THROW(scripted_client::connect(wss(other_ca.ca().string())), connect_failed);
  expect_others_served();
  // The trusted CA works: the refusal above was about trust, not the listener.
  auto client = scripted_client::connect(wss(certs_->ca().string()));
  client->send(protocol::ping_message{3});
  client->expect<protocol::pong_message>();
}

TEST_F(HostileInput, ClientRefusesACertificateForAnotherHostName) {
  // A certificate signed by the trusted CA but naming only other.example: a client that means
  // localhost or 127.0.0.1 must refuse it (host name check), although the chain verifies.
  const auto dir = certs_->dir.path();
  ASSERT_TRUE(certs_->sign_for_another_host("other"));
  test_server misnamed([&](server::server_options& o) {
    o.wss = {true, "127.0.0.1", 0};
    o.tls_certificate_file = (dir / "other.pem").string();
    o.tls_private_key_file = (dir / "other.key").string();
  });
  auto options = wss(certs_->ca().string(), "localhost");
  options.port = misnamed.ports().wss;
  EXPECT_THROW(scripted_client::connect(options), connect_failed);
  options.host = "127.0.0.1";
  EXPECT_THROW(scripted_client::connect(options), connect_failed);
  // The misnamed server itself still serves a plain ws:// client.
  auto client = misnamed.connect();
  client->send(protocol::ping_message{4});
  client->expect<protocol::pong_message>();
  expect_others_served();
}

TEST_F(HostileInput, TlsBelowVersion12IsRefused) {
  for (const char* flag : {"-tls1", "-tls1_1"}) {
    SCOPED_TRACE(flag);
    const auto command =
        "openssl s_client -connect 127.0.0.1:" + std::to_string(server_.ports().wss) + " " + flag +
        " < /dev/null > /dev/null 2>&1";
    EXPECT_NE(std::system(command.c_str()), 0);
  }
  const auto tls12 = "openssl s_client -connect 127.0.0.1:" + std::to_string(server_.ports().wss) +
                     " -tls1_2 < /dev/null > /dev/null 2>&1";
  EXPECT_EQ(std::system(tls12.c_str()), 0);
  expect_others_served();
}

}  // namespace
}  // namespace actorsync::testing
