// A real sync_server on 127.0.0.1 with ephemeral ports and a fresh data directory, for tests.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <actorsync/server/sync_server.hpp>
#include <actorsync/server/token.hpp>
#include "tests/support/certificates.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/scripted_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace actorsync::testing {

/// The secret every test server signs with.
const std::string& test_secret();

/// Signs a token with test_secret().
std::string make_token(const std::string& user, std::vector<std::string> patterns,
                       std::int64_t ttl_seconds = 3600);

class test_server {
 public:
  using customize = std::function<void(server::server_options&)>;
  explicit test_server(const customize& adjust = {});
  ~test_server();

  /// Stops and starts again on the same data directory (and the same options).
  void restart();
  /// Stops; start() brings it back on the same data directory and the same ports (a client
  /// reconnects to the URL it knows).
  void stop();
  void start();

  client_options client(const std::string& token) const;
  /// Connects with a token for user "alice" covering every realm.
  std::unique_ptr<scripted_client> connect() const;
  std::unique_ptr<scripted_client> connect(const std::string& token) const;

  server::sync_server& instance() { return server_; }
  const server::bound_ports& ports() const { return ports_; }
  const server::server_options& options() const { return options_; }

 private:
  temp_dir data_{"server-test"};
  server::server_options options_;
  server::sync_server server_;
  server::bound_ports ports_;
};

}  // namespace actorsync::testing
