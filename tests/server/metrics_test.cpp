// The metrics endpoint serves Prometheus text whose counters follow the traffic.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "tests/server/scripted_client.hpp"
#include "tests/server/test_server.hpp"

namespace actorsync::test {
namespace {

// Parses the exposition format strictly enough to catch malformed output: every line is a
// comment (# HELP / # TYPE), or `name{labels} value`. Returns samples by name+labels.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? ([-+]?[0-9.eE+-]+|\+Inf|NaN)$)");
  static const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::map<std::string, double> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::smatch m;
    if (std::regex_match(line, comment)) continue;
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "not Prometheus text: '" << line << "'";
      continue;
    }
    samples[m[1].str() + m[2].str()] = std::stod(m[4].str());
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

TEST(Metrics, UnknownPathIs404) {
  test_server server;
  EXPECT_EQ(http_get(server.ports().metrics, "/other").first, 404);
}

}  // namespace
}  // namespace actorsync::test
