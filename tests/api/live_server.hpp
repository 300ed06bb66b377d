// Test support for api tests: the in-process test server as they run it, token issuance, apps
// with fast backoff and socket counting (temporary directories and condition waits come from
// tests/support).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include <actorsync/server/sync_server.hpp>
#include <actorsync/server/token.hpp>
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_server.hpp"

namespace actorsync::testing {

/// The secret the server signs with (tests that sign tokens of their own use it).
inline const std::string& secret_bytes = test_secret();

/// The in-process test server (tests/support/test_server.hpp) as the api tests run it: no
/// metrics, no fsync, many sessions per connection, a short shutdown.
/// stop() and start() keep its port, so clients reconnect to the same URL.
class live_server : public test_server {
 public:
  explicit live_server(const customize& tweak = {})
      : test_server([&tweak](server::server_options& o) {
          o.metrics.enabled = false;
          o.durable = false;
          o.max_sessions_per_connection = 5000;
          o.shutdown_timeout = std::chrono::milliseconds(2000);
          o.log_level = "warn";
          if (tweak) tweak(o);
        }) {}

  std::uint16_t port() const { return ports().ws; }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port()); }
  std::string tls_url(const std::string& host) const {
    return "wss://" + host + ":" + std::to_string(ports().wss);
  }
  server::sync_server& server() { return instance(); }
};

/// Credentials for user `id`, with a token for every realm.
inline api::user_credentials user(const std::string& id) {
  return {id, make_token(id, {"/*"})};
}

/// Realm configurations the tests use (designated initializers would warn of the other fields).
inline api::realm_config cancelling_waits() {
  api::realm_config c;
  c.cancel_waits_on_nonfatal_error = true;
  return c;
}
inline api::realm_config opened_paused() {
  api::realm_config c;
  c.open_paused = true;
  return c;
}

/// An app with a private data directory and test-friendly timings.
struct client {
  temp_dir dir{"client"};
  std::unique_ptr<api::app> app;

  explicit client(const live_server& server,
                  const std::function<void(api::app_config&)>& tweak = {}) {
    api::app_config config;
    config.server_url = server.url();
    config.data_directory = dir.path();
    config.durability = storage::durability::process_crash;
    config.request_timeout = std::chrono::seconds(60);
    config.connect_timeout = std::chrono::seconds(10);
    config.backoff.initial = std::chrono::milliseconds(50);
    config.backoff.maximum = std::chrono::milliseconds(400);
    config.linger = std::chrono::milliseconds(0);
    if (tweak) tweak(config);
    app = std::make_unique<api::app>(config);
  }
};

/// Sockets this process holds open (client and in-process server ends alike).
inline int open_sockets() {
  int count = 0;
  for (auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string().starts_with("socket:")) ++count;
  }
  return count;
}

/// The outcome of a facade wait. A wait still pending after 120 s fails the test (it is not
/// reported as `timed_out`, which a test may expect from the wait itself).
inline runtime::wait_outcome get(std::future<runtime::wait_outcome> f) {
  if (f.wait_for(std::chrono::seconds(120)) != std::future_status::ready) {
    ADD_FAILURE() << "a wait did not complete within 120 s";
    return {runtime::wait_status::error, runtime::sync_errc::session_stopped};
  }
  return f.get();
}

inline void write_object(api::realm& r, const std::string& id, std::int64_t value = 1) {
  auto v = r.begin_write().create_object("items", id).set_field("items", id, "n", value).commit();
  ASSERT_TRUE(v.ok());
}

}  // namespace actorsync::testing
