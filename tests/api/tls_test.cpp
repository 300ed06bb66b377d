// wss:// against a real in-process server with certificates generated at test time
// (tools/gen-test-certs.sh): verification and the host-name check are on by default.
#include <actorsync/api/app.hpp>

#include <gtest/gtest.h>

#include <actorsync/api/realm.hpp>
#include "live_server.hpp"
#include "tests/support/certificates.hpp"

using namespace actorsync;
using namespace actorsync::testing;

namespace {

std::function<void(server::server_options&)> wss_on(const test_certificates& certs,
                                                    const std::string& address) {
  return [&certs, address](server::server_options& o) {
    o.wss = {true, address, 0};
    o.tls_certificate_file = certs.certificate().string();
    o.tls_private_key_file = certs.key().string();
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
  test_certificates certs;  // made or the test fails
  live_server server(wss_on(certs, "127.0.0.1"));
  EXPECT_TRUE(bool(sync_once(server, server.tls_url("127.0.0.1"), certs.ca().string())));
}

TEST(Tls, AnUntrustedCertificateIsAFatalTlsFailure) {
  test_certificates certs, other;  // made or the test fails
  live_server server(wss_on(certs, "127.0.0.1"));
  auto outcome = sync_once(server, server.tls_url("127.0.0.1"), other.ca().string());
  EXPECT_EQ(outcome.status, runtime::wait_status::error);
  EXPECT_EQ(outcome.error, runtime::sync_errc::tls_failure);
}

TEST(Tls, AHostNameTheCertificateDoesNotNameIsRefused) {
  test_certificates certs;  // names 127.0.0.1 and localhost only
  live_server server(wss_on(certs, "127.0.0.2"));
  auto outcome = sync_once(server, server.tls_url("127.0.0.2"), certs.ca().string());
  EXPECT_EQ(outcome.status, runtime::wait_status::error);
  EXPECT_EQ(outcome.error, runtime::sync_errc::tls_failure);
}
