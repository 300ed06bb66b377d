// wss:// with certificates generated at test time by tools/gen-test-certs.sh.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"

namespace actorsync::testing {
namespace {

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new test_certificates();
    other_ca_ = new test_certificates();
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete other_ca_;
  }

  test_server server_{[](server::server_options& o) {
    o.wss = {true, "127.0.0.1", 0};
    o.tls_certificate_file = certs_->certificate().string();
    o.tls_private_key_file = certs_->key().string();
  }};

  client_options wss(const std::string& ca) const {
    auto options = server_.client(make_token("alice", {"/*"}));
    options.port = server_.ports().wss;
    options.tls = true;
    options.ca_file = ca;
    return options;
  }

  void expect_server_up() const {
    auto client = scripted_client::connect(wss(certs_->ca().string()));
    client->send(protocol::ping_message{1});
    client->expect<protocol::pong_message>();
  }

  static test_certificates* certs_;
  static test_certificates* other_ca_;
};

test_certificates* Tls::certs_ = nullptr;
test_certificates* Tls::other_ca_ = nullptr;

/// The cipher suite a bare OpenSSL client negotiates with the server at `port`, offering
/// exactly `tls12_ciphers` (TLS 1.2) or `tls13_suites` (TLS 1.3) in the given order. The client
/// does not verify the certificate: only the choice of suite is under test.
std::string negotiated_cipher(std::uint16_t port, int version, const char* tls12_ciphers,
                              const char* tls13_suites) {
  namespace net = boost::asio;
  net::io_context io;
  net::ssl::context context(net::ssl::context::tls_client);
  SSL_CTX* native = context.native_handle();
  SSL_CTX_set_min_proto_version(native, version);
  SSL_CTX_set_max_proto_version(native, version);
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) return "bad TLS 1.2 cipher list";
  if (SSL_CTX_set_ciphersuites(native, tls13_suites) != 1) return "bad TLS 1.3 suite list";
  net::ssl::stream<net::ip::tcp::socket> stream(io, context);
  stream.next_layer().connect({net::ip::make_address("127.0.0.1"), port});
  stream.handshake(net::ssl::stream_base::client);
  std::string name = SSL_get_cipher_name(stream.native_handle());
  boost::system::error_code ignored;
  stream.shutdown(ignored);
  return name;
}

TEST_F(Tls, SyncsOverWssWithTheDevelopmentCa) {
  ASSERT_NE(server_.ports().wss, 0);
  auto client = scripted_client::connect(wss(certs_->ca().string()));
  bind_and_ident(*client, 1, "/tls");
  client->send(protocol::upload_message{1, 1, 0, {make_changeset(1, "a", 1)}});
  EXPECT_EQ(expect_acknowledgement(*client, 1).last_integrated_client_version, 1u);
}

TEST_F(Tls, ServerNameLocalhostVerifiesToo) {
  auto options = wss(certs_->ca().string());
  options.host = "localhost";
  auto client = scripted_client::connect(options);
  client->send(protocol::ping_message{2});
  client->expect<protocol::pong_message>();
}

TEST_F(Tls, UntrustedCertificateFailsOnTheClientAndTheServerStaysUp) {
  EXPECT_THROW(scripted_client::connect(wss(other_ca_->ca().string())), connect_failed);
  expect_server_up();
}

TEST_F(Tls, PlainWebSocketToTheTlsPortFailsCleanly) {
  auto options = wss("");
  options.tls = false;
  EXPECT_THROW(scripted_client::connect(options, std::chrono::seconds(60)), connect_failed);
  expect_server_up();
}

TEST_F(Tls, TlsBelow12IsRefused) {
  // The server's minimum protocol is TLS 1.2: a TLS 1.1-only client cannot connect.
  const auto command =
      "openssl s_client -connect 127.0.0.1:" + std::to_string(server_.ports().wss) +
      " -tls1_1 < /dev/null > /dev/null 2>&1";
  EXPECT_NE(std::system(command.c_str()), 0);
  expect_server_up();
}

TEST_F(Tls, Tls12ClientGetsTheServersPreferredCipherNotItsOwnFirstChoice) {
  // The test certificate's key is EC, so the ECDSA suites apply. The client lists the 128-bit
  // suite first; the server prefers the 256-bit one and its order wins.
  EXPECT_EQ(negotiated_cipher(server_.ports().wss, TLS1_2_VERSION,
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
                              "TLS_AES_128_GCM_SHA256"),
            "ECDHE-ECDSA-AES256-GCM-SHA384");
  expect_server_up();
}

TEST_F(Tls, Tls13ClientGetsTheServersPreferredSuiteNotItsOwnFirstChoice) {
  EXPECT_EQ(negotiated_cipher(server_.ports().wss, TLS1_3_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256",
                              "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"),
            "TLS_AES_256_GCM_SHA384");
}

TEST_F(Tls, AMissingCertificateIsRefusedAtStartNamingTheKey) {
  server::sync_server other;
  server::server_options o = server_.options();
  o.data_directory = o.data_directory.parent_path() / "other";
  o.tls_certificate_file = "/nonexistent/server.pem";
  try {
    other.start(o);
    FAIL() << "started without a certificate";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("tls.certificate_file:", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace actorsync::testing
