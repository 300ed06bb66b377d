// The client runtime's metrics (issue 20, item 2): app::metrics_text() and the optional HTTP
// endpoint, parsed the way a Prometheus server would (every line checked against the text
// format 0.0.4), with figures that follow what the sessions did.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "live_server.hpp"
#include "tests/support/scripted_client.hpp"

using namespace actorsync;
using namespace actorsync::testing;
using namespace std::chrono_literals;

namespace {

bool metric_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
  return true;
}

// The family a sample belongs to: histograms' _bucket, _sum and _count belong to their base.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.ends_with(s)) {
      const auto base = name.substr(0, name.size() - s.size());
      if (auto t = types.find(base); t != types.end() && t->second == "histogram") return base;
    }
  }
  return name;
}

// Parses the exposition text into "name{labels}" -> value, failing the test on any line a
// Prometheus server would reject, a sample without its TYPE, or a histogram whose buckets
// shrink or whose +Inf bucket differs from its count.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      EXPECT_TRUE(metric_name(name)) << line;
      EXPECT_TRUE(std::set<std::string>({"counter", "gauge", "histogram"}).contains(type)) << line;
      EXPECT_FALSE(types.contains(name)) << "TYPE twice: " << line;
      types[name] = type;
      continue;
    }
    const auto brace = line.find('{');
    const auto space = line.rfind(' ');
    if (space == std::string::npos) {
      ADD_FAILURE() << "not a sample: " << line;
      continue;
    }
    const auto name = line.substr(0, std::min(brace, space));
    EXPECT_TRUE(metric_name(name)) << line;
    EXPECT_TRUE(types.contains(family_of(name, types))) << "no TYPE before: " << line;
    if (brace != std::string::npos) {
      EXPECT_EQ(line[space - 1], '}') << line;
    }
    std::size_t used = 0;
    const auto value = std::stod(line.substr(space + 1), &used);
    EXPECT_EQ(used, line.size() - space - 1) << line;
    EXPECT_FALSE(samples.contains(line.substr(0, space))) << "sample twice: " << line;
    samples[line.substr(0, space)] = value;
  }
  for (const auto& [name, type] : types) {
    if (type != "histogram") continue;
    // Buckets in the order they were written must not shrink.
    std::istringstream again(text);
    double previous = 0;
    while (std::getline(again, line)) {
      if (!line.starts_with(name + "_bucket{")) continue;
      const auto value = std::stod(line.substr(line.rfind(' ') + 1));
      EXPECT_GE(value, previous) << line;
      previous = value;
    }
    EXPECT_EQ(samples[name + "_bucket{le=\"+Inf\"}"], samples[name + "_count"]) << name;
  }
  return samples;
}

TEST(ClientMetrics, FiguresFollowTheSessionsAndTheEndpointServesThem) {
  live_server server;
  client a(server, [](api::app_config& c) { c.metrics_endpoint = true; });
  client b(server);
  ASSERT_NE(a.app->metrics_port(), 0);
  std::vector<std::shared_ptr<api::realm>> realms;
  for (int i = 0; i < 3; ++i)
    realms.push_back(a.app->open_realm("/metrics/" + std::to_string(i), user("alice")));
  write_object(*realms[0], "mine");
  ASSERT_TRUE(bool(get(realms[0]->session().upload_all_local_changes())));
  auto theirs = b.app->open_realm("/metrics/0", user("bob"));
  write_object(*theirs, "theirs");
  ASSERT_TRUE(bool(get(theirs->session().upload_all_local_changes())));
  ASSERT_TRUE(bool(get(realms[0]->session().download_all_server_changes())));

  auto m = parse(a.app->metrics_text());
  EXPECT_EQ(m["actorsync_client_sessions{state=\"active\"}"], 3);
  EXPECT_EQ(m["actorsync_client_session_connections{connection=\"connected\"}"], 3);
  EXPECT_EQ(m["actorsync_client_links_open"], 1);  // multiplexed
  EXPECT_GE(m["actorsync_client_connects_total{server=\"" + server.url() + "\"}"], 1);
  EXPECT_GT(m["actorsync_client_bytes_sent_total"], 0);
  EXPECT_GT(m["actorsync_client_bytes_received_total"], 0);
  EXPECT_GE(m["actorsync_client_commit_to_acknowledgement_seconds_count"], 1);
  EXPECT_GE(m["actorsync_client_remote_commit_to_visible_seconds_count"], 1);
  EXPECT_EQ(m["actorsync_client_unacknowledged_bytes"], 0);

  // The endpoint serves the same families.
  const auto [status, body] = http_get(a.app->metrics_port(), "/metrics");
  EXPECT_EQ(status, 200);
  const auto scraped = parse(body);
  EXPECT_EQ(scraped.at("actorsync_client_sessions{state=\"active\"}"), 3);
  EXPECT_EQ(http_get(a.app->metrics_port(), "/other").first, 404);

  server.stop();  // the link goes down (the server says it is going away): counted by reason
  ASSERT_TRUE(eventually([&] {
    auto now = parse(a.app->metrics_text());
    return now["actorsync_client_link_failures_total{reason=\"server_going_away\"}"] +
                   now["actorsync_client_link_failures_total{reason=\"connection_lost\"}"] >=
               1 &&
           now["actorsync_client_sessions_in_error"] == 3;
  }));
}

TEST(ClientMetrics, TheEndpointIsOffByDefaultAndABusyPortIsNamed) {
  live_server server;
  client a(server);
  EXPECT_EQ(a.app->metrics_port(), 0);
  client first(server, [](api::app_config& c) { c.metrics_endpoint = true; });
  const auto taken = first.app->metrics_port();
  // A peer that connects and sends nothing holds neither a scrape nor, at the end of this test,
  // the app's destruction.
  const int silent = connect_raw(taken);
  EXPECT_EQ(http_get(taken, "/metrics").first, 200);
  try {
    client second(server, [taken](api::app_config& c) {
      c.metrics_endpoint = true;
      c.metrics_port = taken;
    });
    ADD_FAILURE() << "a second app listened on a port in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(taken)),
              std::string::npos)
        << e.what();
  }
  first.app.reset();  // returns although `silent` is still connected
  ::close(silent);
}

}  // namespace
