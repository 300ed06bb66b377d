// The client runtime's TLS defaults: certificate verification and the host name check are on
// unless turned off, so an untrusted or misnamed server certificate ends the session with
// tls_failure (fatal) while a trusted, matching one syncs.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "tests/support/test_server.hpp"

namespace actorsync::testing {
namespace {

struct error_log {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<runtime::session_error_event> events;
  bool wait_for_fatal() {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, default_deadline, [&] {
      for (const auto& e : events)
        if (e.fatal) return true;
      return false;
    });
  }
};

// An app with the default TLS settings except the trusted CA file.
std::unique_ptr<api::app> tls_app(const std::filesystem::path& dir, std::uint16_t port,
                                  const std::string& trust_file, error_log& log) {
  api::app_config config;
  config.server_url = "wss://127.0.0.1:" + std::to_string(port);
  config.tls_trust_file = trust_file;
  config.data_directory = dir;
  config.durability = storage::durability::process_crash;
  config.backoff.initial = std::chrono::milliseconds(20);
  config.linger = std::chrono::milliseconds(0);
  config.error_handler = [&log](const runtime::session_error_event& e) {
    std::lock_guard lock(log.mutex);
    log.events.push_back(e);
    log.changed.notify_all();
  };
  return std::make_unique<api::app>(config);
}

api::user_credentials alice() {
  return {"alice", make_token("alice", {"/*"})};
}

class ClientTlsDefaults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new test_certificates(); }
  static void TearDownTestSuite() { delete certs_; }
  static test_server wss_server(const std::string& certificate, const std::string& key) {
    return test_server([&](server::server_options& o) {
      o.wss = {true, "127.0.0.1", 0};
      o.tls_certificate_file = certificate;
      o.tls_private_key_file = key;
    });
  }
  // Writes one object and waits for the upload; returns the outcome.
  static runtime::wait_outcome write_and_upload(api::app& app) {
    auto realm = app.open_realm("/tls-defaults", alice());
    EXPECT_TRUE(realm->begin_write().create_object("items", "a").commit().ok());
    auto wait = realm->session().upload_all_local_changes(default_deadline);
    EXPECT_EQ(wait.wait_for(default_deadline * 2), std::future_status::ready);
    auto outcome = wait.get();
    realm->close(true);
    return outcome;
  }
  static test_certificates* certs_;
  temp_dir client_dir_;
};

test_certificates* ClientTlsDefaults::certs_ = nullptr;

TEST_F(ClientTlsDefaults, VerificationIsOnByDefault) {
  EXPECT_TRUE(api::app_config{}.verify_tls);
}

TEST_F(ClientTlsDefaults, TrustedMatchingCertificateSyncs) {
  auto server = wss_server(certs_->certificate().string(), certs_->key().string());
  error_log log;
  auto app = tls_app(client_dir_.path(), server.ports().wss, certs_->ca().string(), log);
  EXPECT_TRUE(write_and_upload(*app));
}

TEST_F(ClientTlsDefaults, UntrustedCertificateIsAFatalTlsFailure) {
  auto server = wss_server(certs_->certificate().string(), certs_->key().string());
  test_certificates other_ca;
  error_log log;
  auto app = tls_app(client_dir_.path(), server.ports().wss, other_ca.ca().string(), log);
  auto realm = app->open_realm("/tls-defaults", alice());
  ASSERT_TRUE(log.wait_for_fatal());
  std::lock_guard lock(log.mutex);
  EXPECT_EQ(log.events.back().code, runtime::sync_errc::tls_failure) << log.events.back().message;
  EXPECT_EQ(server.instance().metrics().connections_total.load(), 0u);
}

TEST_F(ClientTlsDefaults, CertificateForAnotherHostIsAFatalTlsFailure) {
  const auto dir = certs_->dir.path();
  ASSERT_TRUE(certs_->sign_for_another_host("misnamed"));
  auto server = wss_server((dir / "misnamed.pem").string(), (dir / "misnamed.key").string());
  error_log log;
  auto app = tls_app(client_dir_.path(), server.ports().wss, certs_->ca().string(), log);
  auto realm = app->open_realm("/tls-defaults", alice());
  ASSERT_TRUE(log.wait_for_fatal());
  std::lock_guard lock(log.mutex);
  EXPECT_EQ(log.events.back().code, runtime::sync_errc::tls_failure) << log.events.back().message;
  EXPECT_EQ(server.instance().metrics().connections_total.load(), 0u);
}

}  // namespace
}  // namespace actorsync::testing
