// A real sync_server on 127.0.0.1 with ephemeral ports and a fresh data directory, for tests.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/sync_server.hpp"
#include "server/token.hpp"
#include "tests/server/scripted_client.hpp"

namespace actorsync::test {

/// A directory removed when the object dies.
class temp_directory {
 public:
  explicit temp_directory(const std::string& prefix = "actorsync-server-test");
  ~temp_directory();
  temp_directory(const temp_directory&) = delete;
  temp_directory& operator=(const temp_directory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// The secret every test server signs with.
const std::string& test_secret();

/// Signs a token with test_secret().
std::string make_token(const std::string& user, std::vector<std::string> patterns,
                       std::int64_t ttl_seconds = 3600);

/// Certificates made by tools/gen-test-certs.sh into a temporary directory.
struct test_certificates {
  temp_directory dir{"actorsync-certs"};
  std::filesystem::path ca() const { return dir.path() / "ca.pem"; }
  std::filesystem::path certificate() const { return dir.path() / "server.pem"; }
  std::filesystem::path key() const { return dir.path() / "server.key"; }
  test_certificates();
};

class test_server {
 public:
  using customize = std::function<void(server::server_options&)>;
  explicit test_server(const customize& adjust = {});
  ~test_server();

  /// Stops and starts again on the same data directory (and the same options).
  void restart();

  client_options client(const std::string& token) const;
  /// Connects with a token for user "alice" covering every realm.
  std::unique_ptr<scripted_client> connect() const;
  std::unique_ptr<scripted_client> connect(const std::string& token) const;

  server::sync_server& instance() { return server_; }
  const server::bound_ports& ports() const { return ports_; }
  const server::server_options& options() const { return options_; }

 private:
  temp_directory data_;
  server::server_options options_;
  server::sync_server server_;
  server::bound_ports ports_;
};

/// Checks `condition` until it holds or `deadline` passes (then false: the test fails). For
/// states only observable from outside, such as a metrics gauge.
bool wait_for(const std::function<bool()>& condition,
              std::chrono::milliseconds deadline = default_deadline);

/// Path of a built binary (set by CMake) and of the source tree.
std::filesystem::path source_dir();

}  // namespace actorsync::test
