#include "tests/server/test_server.hpp"

#include <cstdlib>
#include <random>
#include <stdexcept>
#include <thread>

namespace actorsync::test {

temp_directory::temp_directory(const std::string& prefix) {
  std::random_device random;
  const auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / (prefix + "-" + std::to_string(random()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

temp_directory::~temp_directory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

const std::string& test_secret() {
  static const std::string secret = "test-secret-0123456789abcdef";
  return secret;
}

std::string make_token(const std::string& user, std::vector<std::string> patterns,
                       std::int64_t ttl_seconds) {
  const auto now = static_cast<std::int64_t>(server::unix_now());
  server::token_claims claims{
      user, std::move(patterns),
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, now + ttl_seconds))};
  return server::issue_token(server::token_secret(test_secret()), claims);
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling interval, not a wait
  }
  return true;
}

std::filesystem::path source_dir() {
  return ACTORSYNC_SOURCE_DIR;
}

test_certificates::test_certificates() {
  const auto command = "\"" + (source_dir() / "tools" / "gen-test-certs.sh").string() + "\" \"" +
                       dir.path().string() + "\" 2 > /dev/null";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("gen-test-certs.sh failed");
}

test_server::test_server(const customize& adjust) {
  options_.data_directory = data_.path() / "data";
  options_.ws = {true, "127.0.0.1", 0};
  options_.wss = {false, "127.0.0.1", 0};
  options_.metrics = {true, "127.0.0.1", 0};
  options_.token_secret = test_secret();
  options_.actor_threads = 2;
  options_.io_threads = 1;
  options_.log_level = "warning";
  if (adjust) adjust(options_);
  ports_ = server_.start(options_);
}

test_server::~test_server() {
  server_.stop();
}

void test_server::restart() {
  server_.stop();
  ports_ = server_.start(options_);
}

client_options test_server::client(const std::string& token) const {
  client_options c;
  c.port = ports_.ws;
  c.token = token;
  return c;
}

std::unique_ptr<scripted_client> test_server::connect() const {
  return connect(make_token("alice", {"/*"}));
}

std::unique_ptr<scripted_client> test_server::connect(const std::string& token) const {
  return scripted_client::connect(client(token));
}

}  // namespace actorsync::test
