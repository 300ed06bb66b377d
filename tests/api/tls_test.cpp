// wss:// against a real in-process server with certificates generated at test time
// (tools/gen-test-certs.sh): verification and the host-name check are on by default.
#include "api/app.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "api/realm.hpp"
#include "live_server.hpp"

using namespace actorsync;
using namespace actorsync::testing;

namespace {

/// A CA and a server certificate for 127.0.0.1 and localhost, in a temporary directory.
struct certificates {
  temp_dir dir{"certs"};
  certificates() {
    std::string script = std::string(ACTORSYNC_TEST_DATA_DIR) + "/../../tools/gen-test-certs.sh";
    std::string command = "bash '" + script + "' '" + dir.path().string() + "' 2 > /dev/null";
    ok = std::system(command.c_str()) == 0;
  }
  std::string file(const char* name) const { return (dir.path() / name).string(); }
  bool ok = false;
};

std::function<void(server::server_options&)> wss_on(const certificates& certs,
                                                    const std::string& address) {
  return [&certs, address](server::server_options& o) {
    o.wss = {true, address, 0};
    o.tls_certificate_file = certs.file("server.pem");
    o.tls_private_key_file = certs.file("server.key");
  };
}

runtime::wait_outcome sync_once(const live_server& server, const std::string& url,
                                const std::string& trust) {
  client c(server, [&](api::app_config& cfg) {
    cfg.server_url = url;
    cfg.tls_trust_file = trust;
  });
  auto r = c.app->open_realm("/tls", user("alice"));
  write_object(*r, "x");
  return get(r->session().upload_all_local_changes());
}

}  // namespace

TEST(Tls, WssWithTheTrustedCaSyncs) {
  certificates certs;
  ASSERT_TRUE(certs.ok);
  live_server server(wss_on(certs, "127.0.0.1"));
  EXPECT_TRUE(bool(sync_once(server, server.tls_url("127.0.0.1"), certs.file("ca.pem"))));
}

TEST(Tls, AnUntrustedCertificateIsAFatalTlsFailure) {
  certificates certs, other;
  ASSERT_TRUE(certs.ok && other.ok);
  live_server server(wss_on(certs, "127.0.0.1"));
  auto outcome = sync_once(server, server.tls_url("127.0.0.1"), other.file("ca.pem"));
  EXPECT_EQ(outcome.status, runtime::wait_status::error);
  EXPECT_EQ(outcome.error, runtime::sync_errc::tls_failure);
}

TEST(Tls, AHostNameTheCertificateDoesNotNameIsRefused) {
  certificates certs;  // names 127.0.0.1 and localhost only
  ASSERT_TRUE(certs.ok);
  live_server server(wss_on(certs, "127.0.0.2"));
  auto outcome = sync_once(server, server.tls_url("127.0.0.2"), certs.file("ca.pem"));
  EXPECT_EQ(outcome.status, runtime::wait_status::error);
  EXPECT_EQ(outcome.error, runtime::sync_errc::tls_failure);
}
