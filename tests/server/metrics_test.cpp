// The metrics endpoint serves Prometheus text whose counters follow the traffic.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>

#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"

namespace actorsync::testing {
namespace {

bool is_name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

// Reads `name` at `pos` (metric or label name); empty if none.
std::string read_name(const std::string& line, std::size_t& pos) {
  const auto start = pos;
  while (pos < line.size() && is_name_char(line[pos], pos == start)) ++pos;
  return line.substr(start, pos - start);
}

// One sample line `name{label="value",...} number`; returns false if malformed.
bool parse_sample(const std::string& line, std::string& key, double& value) {
  std::size_t pos = 0;
  auto name = read_name(line, pos);
  if (name.empty()) return false;
  const auto labels_start = pos;
  if (pos < line.size() && line[pos] == '{') {
    ++pos;
    for (;;) {
      if (read_name(line, pos).empty() || line.compare(pos, 2, "=\"") != 0) return false;
      pos = line.find('"', pos + 2);
      if (pos == std::string::npos) return false;
      ++pos;
      if (pos < line.size() && line[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < line.size() && line[pos] == '}') break;
      return false;
    }
    ++pos;
  }
  key = name + line.substr(labels_start, pos - labels_start);
  if (pos >= line.size() || line[pos] != ' ') return false;
  const auto number = line.substr(pos + 1);
  if (number == "+Inf") {
    value = std::numeric_limits<double>::infinity();
    return true;
  }
  char* end = nullptr;
  value = std::strtod(number.c_str(), &end);
  return !number.empty() && end == number.c_str() + number.size();
}

// Parses the exposition format strictly enough to catch malformed output: every line is a
// comment (# HELP / # TYPE) or a sample. Returns samples by name+labels.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    std::string key;
    double value = 0;
    if (!parse_sample(line, key, value)) {
      ADD_FAILURE() << "not Prometheus text: '" << line << "'";
      continue;
    }
    samples[key] = value;
  }
  return samples;
}

std::map<std::string, double> scrape(const test_server& server) {
  auto [status, body] = http_get(server.ports().metrics, "/metrics");
  EXPECT_EQ(status, 200);
  return parse_prometheus(body);
}

TEST(Metrics, EndpointParsesAndCountersMoveWithTraffic) {
  test_server server;
  auto before = scrape(server);
  EXPECT_EQ(before.at("actorsync_changesets_integrated_total"), 0);
  EXPECT_EQ(before.at("actorsync_connections"), 0);
  EXPECT_TRUE(before.count("actorsync_integration_latency_seconds_bucket{le=\"+Inf\"}"));
  EXPECT_TRUE(before.count("actorsync_errors_total{code=\"bad_syntax\"}"));

  auto writer = server.connect();
  auto reader = server.connect();
  bind_and_ident(*writer, 1, "/m");
  bind_and_ident(*reader, 1, "/m");
  writer->send(
      protocol::upload_message{1, 2, 0, {make_changeset(1, "a", 1), make_changeset(2, "b", 2)}});
  for (auto d = writer->expect<protocol::download_message>(); d.last_integrated_client_version < 2;
       d = writer->expect<protocol::download_message>()) {
  }
  std::size_t downloaded = 0;
  while (downloaded < 2)
    downloaded += reader->expect<protocol::download_message>().changesets.size();

  auto after = scrape(server);
  EXPECT_EQ(after.at("actorsync_connections"), 2);
  EXPECT_EQ(after.at("actorsync_sessions"), 2);
  EXPECT_EQ(after.at("actorsync_active_realms"), 1);
  EXPECT_EQ(after.at("actorsync_changesets_integrated_total"), 2);
  EXPECT_GT(after.at("actorsync_bytes_integrated_total"), 0);
  EXPECT_EQ(after.at("actorsync_changesets_sent_total"), 2);
  EXPECT_GT(after.at("actorsync_bytes_sent_total"), before.at("actorsync_bytes_sent_total"));
  EXPECT_EQ(after.at("actorsync_integration_latency_seconds_count"), 1);
  EXPECT_GT(after.at("actorsync_bytes_received_total"), 0);
}

TEST(Metrics, BindsAreCountedAcceptedAndRefusedByReason) {
  using protocol::bind_message;
  using protocol::error_code;
  test_server server([](server::server_options& o) { o.max_sessions_per_connection = 2; });
  EXPECT_EQ(scrape(server).at("actorsync_binds_total"), 0);
  auto client = server.connect(make_token("alice", {"/alice/*"}));
  bind_and_ident(*client, 1, "/alice/a");
  client->send(bind_message{2, "/bob/a", ""});
  client->expect_error(error_code::permission_denied, 2);
  client->send(bind_message{3, "/alice/a", make_token("alice", {"/alice/*"}, -10)});
  client->expect_error(error_code::token_expired, 3);
  client->send(bind_message{4, "/alice/a", "garbage.token"});
  client->expect_error(error_code::bad_authentication, 4);
  client->send(bind_message{5, "/alice/.hidden", ""});
  client->expect_error(error_code::illegal_realm_path, 5);
  bind_and_ident(*client, 6, "/alice/b");
  client->send(bind_message{7, "/alice/c", ""});
  client->expect_error(error_code::too_many_sessions, 7);
  client->send(bind_message{1, "/alice/a", ""});
  client->expect_error(error_code::reuse_of_session_ident, 0);

  auto after = scrape(server);
  EXPECT_EQ(after.at("actorsync_binds_total"), 2);
  for (const auto* reason : {"permission_denied", "token_expired", "bad_authentication",
                             "illegal_realm_path", "too_many_sessions", "reuse_of_session_ident"}) {
    EXPECT_EQ(after.at("actorsync_binds_refused_total{reason=\"" + std::string(reason) + "\"}"), 1)
        << reason;
  }
}

// What every Prometheus client exports about its process, and which build this is (issue 15).
TEST(Metrics, ProcessFiguresAndTheBuildAreExported) {
  test_server server;
  const auto samples = scrape(server);
  EXPECT_GT(samples.at("process_resident_memory_bytes"), 1e6);  // a server holds megabytes
  EXPECT_GT(samples.at("process_cpu_seconds_total"), 0);
  EXPECT_GT(samples.at("process_open_fds"), 3);  // at least its listeners past stdio
  EXPECT_GE(samples.at("process_max_fds"), samples.at("process_open_fds"));
  const auto started = samples.at("process_start_time_seconds");
  EXPECT_GT(started, 1.7e9);  // after 2023, so read from the boot time, not left at 0
  EXPECT_LE(started, static_cast<double>(server::unix_now()) + 1);
  bool build_info = false;
  for (const auto& [key, value] : samples)
    if (key.starts_with("actorsync_build_info{version=\"") && value == 1) build_info = true;
  EXPECT_TRUE(build_info);
}

TEST(Metrics, UnknownPathIs404) {
  test_server server;
  EXPECT_EQ(http_get(server.ports().metrics, "/other").first, 404);
}

}  // namespace
}  // namespace actorsync::testing
