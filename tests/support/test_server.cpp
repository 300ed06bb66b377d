#include "tests/support/test_server.hpp"

#include <stdexcept>

namespace actorsync::testing {

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

void test_server::stop() {
  server_.stop();
}

void test_server::start() {
  options_.ws.port = ports_.ws;
  options_.wss.port = ports_.wss;
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

}  // namespace actorsync::testing
